// A TypeScript consumer of the npm package using every export with its real types.
// tests/npm/run.sh type-checks it with `tsc --noEmit --strict` against the packed tarball:
// the `@ts-expect-error` lines prove the types reject wrong payload shapes at compile time
// (if a line stopped being an error, tsc would fail on the unused directive).
import {
  checkUsername,
  generatePassword,
  generateUsername,
  previewUsername,
  slugify,
  statuses,
  timezones,
  validateSponsor,
  validateSponsorJson,
  validateField,
  validateUser,
  validateUserJson,
  validateUsers,
  type ErrorCode,
  type FieldError,
  type PasswordPolicy,
  type SponsorPayload,
  type UserPayload,
  type UserStatus,
} from "onboard-rules";
// The spreadsheet functions: their own module (a second .wasm), loaded only by who imports it.
import {
  fieldCatalogue,
  mapHeaders,
  rowsToUsers,
  suggestUrl,
  type CatalogueField,
  type ImportField,
  type SheetUser,
} from "onboard-rules/sheet";

const user: UserPayload = {
  email: "jane@domain.com",
  type: "Speaker",
  firstName: "Jane",
  lastName: "Doe",
  tags: ["Mentor"],
  socials: { twitter: "https://twitter.com/janedoe" },
  options: { highlight: true },
};
const sponsor: SponsorPayload = {
  name: "Super Sponsor",
  logo: "https://domain.com/logo.png",
  level: 3,
  speakers: [{ email: "speaker@domain.com", highlighted: false }],
};

const errors: FieldError[] = [
  ...validateUser(user),
  ...validateSponsor(sponsor),
  ...validateUserJson(JSON.stringify(user)),
  ...validateSponsorJson(JSON.stringify(sponsor)),
  ...validateUsers([user, user]).flat(),
  ...checkUsername("SuperJane"),
  ...validateField("user", "email", "jane@"),
  ...validateField("sponsor", "speakers[0].email", "a@b.co", sponsor),
];
const codes: ErrorCode[] = errors.map((e) => e.code);
const byField: Record<string, string> = Object.fromEntries(errors.map((e) => [e.field, e.message]));

const policy: PasswordPolicy = { length: 24, symbols: false };
const password: string = generatePassword(policy) + generatePassword(undefined) + generatePassword();
const names: string[] = [previewUsername("Jane", "Doe"), generateUsername("Jane", "Doe"), slugify("Acme")];
const zones: string[] = timezones();
const status: UserStatus = statuses()[0];

// A half-filled form or data from elsewhere is what validateUser checks: any value goes in.
const draft: Partial<UserPayload> = { email: "a@b.co" };
const fromElsewhere: unknown = JSON.parse("{}");
errors.push(...validateUser(draft), ...validateUser(fromElsewhere), ...validateSponsor({ name: "Acme" }));

// Spreadsheets: the page's Import tab and `onboard import` read columns this way.
const headers = ["Name", "E-mail", "Ticket"];
const fields: (ImportField | null)[] = mapHeaders(headers);
fields[2] = "type";
const users: SheetUser[] = rowsToUsers(headers, [["Doe, Jane", "jane@domain.com", "Speaker Pass"]], { type: "Attendee" }, {
  columns: fields,
  typeValues: { "Speaker Pass": "Speaker" },
});
const rowErrors: FieldError[][] = validateUsers(users);
const fix: string | undefined = suggestUrl("socials.linkedin", "linkedin.com/in/jane");
const labels: string[] = fieldCatalogue().map((f: CatalogueField) => `${f.label}: ${f.header}`);

// @ts-expect-error: `type` must be "Attendee" or "Speaker"
const guest: UserPayload = { email: "a@b.co", type: "Guest", firstName: "A", lastName: "B" };
// @ts-expect-error: lastName is required
const noLast: UserPayload = { email: "a@b.co", type: "Attendee", firstName: "A" };
// @ts-expect-error: tags is an array of strings
const tagText: UserPayload = { email: "a@b.co", type: "Attendee", firstName: "A", lastName: "B", tags: "Mentor" };
// @ts-expect-error: level is a number
const levelText: SponsorPayload = { name: "Acme", logo: "https://acme.com/l.png", level: "3" };
// @ts-expect-error: each speaker needs an email
const noEmail: SponsorPayload = { name: "Acme", logo: "https://acme.com/l.png", level: 3, speakers: [{ firstName: "J" }] };
// @ts-expect-error: a field belongs to a "user" or a "sponsor"
validateField("guest", "email", "a@b.co");
// @ts-expect-error: codes are a closed union
const notACode: ErrorCode = "oops";
// @ts-expect-error: policy fields are typed
generatePassword({ length: "20" });
// @ts-expect-error: columns are catalogue fields
rowsToUsers(headers, [], null, { columns: ["shoeSize"] });

console.log(codes, byField, password, names, zones.length, status, notACode, rowErrors, fix, labels, guest, noLast, tagText, levelText, noEmail);

// Edits (issue 12): merge patches, one speaker, CSV cells.
import {
  csvCellValue,
  csvSafe,
  validateSpeaker,
  validateSponsorPatch,
  validateUserPatch,
  validateUserPatchJson,
  type SpeakerPayload,
  type SponsorPatchPayload,
  type SponsorRecord,
  type UserPatchPayload,
  type UserRecord,
} from "onboard-rules";

const stored: UserRecord = { ...user, id: "665f1c2e8b3e4a0012345678", username: "SuperJane", createdAt: "2026-01-01T00:00:00Z" };
const userPatch: UserPatchPayload = { job: "Lead", avatar: null, socials: { twitter: null } };
const editErrors: FieldError[] = [
  ...validateUserPatch(stored, userPatch),
  ...validateUserPatchJson(JSON.stringify(stored), JSON.stringify(userPatch)),
];
const editCodes: ErrorCode[] = ["read_only", "slug_invalid", "too_many_errors", "already_speaker"];
const cell: string = csvCellValue(csvSafe("=1+1"));

// @ts-expect-error: a patch's values keep their types
validateUserPatch(stored, { tags: "Mentor" });
// @ts-expect-error: a patch names only the user's fields
validateUserPatch(stored, { nickname: "J" });

const sponsorRecord: SponsorRecord = { name: "Acme", logo: "https://acme.com/l.png", level: 2, slug: "acme", id: "x" };
const sponsorPatch: SponsorPatchPayload = { name: "Acme Inc", website: null, slug: "acme-inc" };
const speaker: SpeakerPayload = { email: "jane@domain.com" };
const moreErrors: FieldError[] = [...validateSponsorPatch(sponsorRecord, sponsorPatch), ...validateSpeaker(speaker)];
// @ts-expect-error: speakers have their own routes, not the sponsor patch
validateSponsorPatch(sponsorRecord, { speakers: [] });

console.log(editErrors, editCodes, cell, moreErrors);

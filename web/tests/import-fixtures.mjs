// CSV files for the Import tab's tests and web/bench-import.mjs: attendee lists as a
// spreadsheet would export them, with problems planted at known rows. Each file comes with
// the payloads the page should build from it, so the expected verdicts are the rulebook's own
// (the package's Node build), never written here.
import Papa from "papaparse";

/**
 * `n` rows, semicolon separated, with a BOM and French column names. Planted problems (by
 * data row index i): i % 50 == 3 an invalid email, i % 40 == 7 an http:// website,
 * i % 100 == 11 the type "Guest", i % 125 == 20 the email of the row before in capitals
 * (a duplicate in the file). Every 10th row is a Speaker; the others have no type (the
 * page's default, Attendee). `tag` makes the emails unique to one file.
 */
export function plantedCsv(n, { tag = "p", planted = true } = {}) {
  const headers = ["Courriel", "Prénom", "Nom", "Type", "Étiquettes", "Site web", "Entreprise"];
  const data = [];
  const payloads = [];
  for (let i = 0; i < n; i++) {
    let email = `${tag}.person${i}@example.com`;
    let website = i % 3 === 0 ? `https://person${i}.example.com` : "";
    let type = i % 10 === 0 ? "Speaker" : "";
    if (planted) {
      if (i % 50 === 3) email = `${tag}.person${i}.example.com`;
      if (i % 40 === 7) website = `http://person${i}.example.com`;
      if (i % 100 === 11) type = "Guest";
      if (i % 125 === 20) email = data[i - 1][0].toUpperCase();
    }
    const tags = i % 4 === 0 ? "Mentor | Host" : i % 4 === 1 ? "Volunteer" : "";
    const row = [email, `Prénom${i}`, `Nom${i}`, type, tags, website, i % 2 ? "Comp Limited" : ""];
    data.push(row);
    const p = { email, type: type || "Attendee", firstName: row[1], lastName: row[2] };
    if (tags) p.tags = tags.split(/[;,|]/).map((t) => t.trim()).filter(Boolean);
    if (website) p.website = website;
    if (row[6]) p.company = row[6];
    payloads.push(p);
  }
  const csv = "\ufeff" + Papa.unparse({ fields: headers, data }, { delimiter: ";", newline: "\r\n" }) + "\r\n";
  return { csv, payloads, headers };
}

/** A file for `setInputFiles`. */
export const csvFile = (name, csv) => ({ name, mimeType: "text/csv", buffer: Buffer.from(csv, "utf8") });

/** The spreadsheet row of data row `i` (the column names are row 1). */
export const sheetRow = (i) => i + 2;

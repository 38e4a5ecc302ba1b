// validateField: the one export with a JavaScript side. wasm/build.sh appends this to the glue,
// beside `__validateField` (wasm/src/lib.rs). A string value also crosses as it is, after the
// path in one string (the path's length says where it ends: every field's path is ASCII, so
// its length is its length in bytes; any other path is an unknown field, whatever the value),
// unless it holds a lone surrogate (the text encoder would replace it, where its JSON escape
// is refused as the whole payload's check refuses it); `undefined` back means no errors, a
// string one error at `path` (an ASCII one), its code and message after a space (lib.rs).
export function validateField(kind, path, value, context) {
  if (kind !== "user" && kind !== "sponsor") throw new Error('kind must be "user" or "sponsor"');
  const text = typeof value === "string" && !/\p{Cs}/u.test(value) && !/[^\0-\x7f]/.test(path);
  const r = __validateField(kind === "sponsor", text ? path.length : -1, text ? path + value : path, value, context);
  if (typeof r !== "string") return r ?? [];
  const at = r.indexOf(" ");
  return [{ field: path, code: r.slice(0, at), message: r.slice(at + 1) }];
}

// Ways of making a JS string of a few ASCII bytes in wasm memory, timed (bench/results.md,
// issue 16: why wasm/build.sh's getStringFromWasm0 loops under 12 bytes and decodes above).
//   node bench/js/decode.js
const mem = new Uint8Array(1 << 16);
const decoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
const ROUNDS = 300;
const BATCH = 100;
let sink = 0;

function fastest(fn) {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < BATCH; k++) sink += fn().length;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000 / BATCH);
  }
  return best;
}

const message = "email_invalid Must be a valid email address, like name@example.com.";
const texts = [1, 4, 8, 12, 16, 24, 32].map((n) => "abcdefghijklmnopqrstuvwxyz0123456789".slice(0, n)).concat([message]);
console.log("| bytes | TextDecoder | += loop | String.fromCharCode.apply | Buffer#latin1Slice (Node only) |\n|--:|--:|--:|--:|--:|");
for (const text of texts) {
  const ptr = 1024;
  const end = ptr + text.length;
  for (let i = 0; i < text.length; i++) mem[ptr + i] = text.charCodeAt(i);
  const ways = [
    () => decoder.decode(mem.subarray(ptr, end)),
    () => {
      let s = "";
      for (let i = ptr; i < end; i++) s += String.fromCharCode(mem[i]);
      return s;
    },
    () => String.fromCharCode.apply(null, mem.subarray(ptr, end)),
    () => Buffer.prototype.latin1Slice.call(mem, ptr, end),
  ];
  for (const way of ways) if (way() !== text) throw new Error(`${way} made another string`);
  console.log(`| ${text.length} | ${ways.map((w) => `${fastest(w).toFixed(3)} µs`).join(" | ")} |`);
}
if (sink < 0) console.log(sink);

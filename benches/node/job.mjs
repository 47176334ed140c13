// W8's job, for every pool: sum 100 ints starting at the argument.
export default function job(from) {
  let s = 0;
  for (let i = 0; i < 100; i++) s += from + i;
  return s;
}

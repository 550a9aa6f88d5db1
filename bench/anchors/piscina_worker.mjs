// piscina task: the trivial task, or the CPU-bound one when given { primes }.
export default function (arg) {
  if (typeof arg === "number") return arg + 1;
  let count = 0;
  for (let n = 2; n < arg.primes; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

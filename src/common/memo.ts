// A function that remembers its last argument and result: for a value every item of a long
// list asks for with the same argument (each view of a list of 30,000 has one base URL).

export function rememberLast<A, R>(fn: (arg: A) => R): (arg: A) => R {
  let known = false;
  let lastArg: A;
  let lastResult: R;
  return (arg: A): R => {
    if (!known || arg !== lastArg) {
      lastResult = fn(arg);
      lastArg = arg;
      known = true;
    }
    return lastResult;
  };
}

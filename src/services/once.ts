/** `f`, callable any number of times and run at most once: releases that a second call must not repeat. */
export function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}

import { buildProgram, exitCodeFor } from './program';

buildProgram()
  .parseAsync(process.argv)
  .then(
    () => undefined,
    (err: unknown) => {
      process.exitCode = exitCodeFor(err, (s) => process.stderr.write(s));
    },
  );

import { processIo } from './cli-context';
import { run } from './program';

void run(process.argv.slice(2), processIo).then((code) => {
  process.exitCode = code;
});

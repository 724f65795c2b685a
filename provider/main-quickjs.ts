import { run } from "./core/run.ts";
import { quickjsArgv, quickjsFinish, quickjsInputs } from "./io/quickjs.ts";

quickjsFinish(run(quickjsArgv(), quickjsInputs));

import { run } from "./core/run.ts";
import { nodeArgv, nodeFinish, nodeInputs } from "./io/node.ts";

nodeFinish(run(nodeArgv(), nodeInputs));

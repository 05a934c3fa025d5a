/** Entry point of the project's Pulumi program (root Pulumi.yaml, `main: programs/`). */
import { runProgram } from "./main";

export = runProgram();

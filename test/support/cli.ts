/** Runs the CLI in-process, as `ray-s3-access ARGS` would, and captures what it prints. */
import { CliContext, main } from "../../automation/cli";

export class Capture {
    text = "";
    isTTY = false;
    write(chunk: string) {
        this.text += chunk;
        return true;
    }
}

export async function runCli(args: string[], context: Partial<Omit<CliContext, "stdout" | "stderr" | "exitCode">> = {}) {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await main(args, { ...context, stdout, stderr });
    return { code, stdout: stdout.text, stderr: stderr.text };
}

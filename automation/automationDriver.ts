/**
 * The real StackDriver: Pulumi's Automation API (LocalWorkspace), which runs the Pulumi CLI.
 *
 * - Backend: `PULUMI_BACKEND_URL` when set, else a local directory under the project
 *   (`file://<project>/.pulumi-state`): no Pulumi Cloud account needed.
 * - Secrets: the passphrase provider; `PULUMI_CONFIG_PASSPHRASE` (or `_FILE`) must be set.
 * - Each stack runs in a workspace directory of its own (`.pulumi-workspaces/STACK/`, whose Pulumi.yaml
 *   points at the project's `programs/`): concurrent `stack select` and settings writes in one directory
 *   corrupt each other.
 * - Provider plugins are installed once, before the fan-out, so parallel stacks do not race to download them.
 *
 * This path needs the Pulumi CLI and a cloud account, so the tests cover it only up to this interface (see
 * the README); everything above it is tested with a fake driver.
 */
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { OperationRequest, OperationResult, StackDriver, ToolMissingError, Operation } from "./driver";
import { PROJECT, StackTarget } from "./stacks";

export interface AutomationDriverOptions {
    /** The project directory (Pulumi.yaml, programs/). */
    cwd: string;
    env?: NodeJS.ProcessEnv;
}

const INSTALL_HINT =
    "install the Pulumi CLI (https://www.pulumi.com/docs/install/: `curl -fsSL https://get.pulumi.com | sh` or " +
    "`brew install pulumi/tap/pulumi`) and make sure `pulumi` is on PATH. `render` and `check` work without it.";

function pluginVersion(cwd: string, pkg: string): string | undefined {
    try {
        return JSON.parse(fs.readFileSync(path.join(cwd, "node_modules", "@pulumi", pkg, "package.json"), "utf8")).version;
    } catch {
        return undefined;
    }
}

export class AutomationDriver implements StackDriver {
    private command?: PulumiCommand;
    private readonly env: NodeJS.ProcessEnv;

    constructor(private readonly options: AutomationDriverOptions) {
        this.env = options.env ?? process.env;
    }

    private backendUrl(): string {
        return this.env.PULUMI_BACKEND_URL ?? `file://${path.join(this.options.cwd, ".pulumi-state")}`;
    }

    async prepare(operation: Operation): Promise<void> {
        try {
            this.command = await PulumiCommand.get({ skipVersionCheck: true });
        } catch (error) {
            const detail = /ENOENT|code: -2|not found/i.test(String((error as Error).message)) ? "not found on PATH" : (error as Error).message.split("\n")[0];
            throw new ToolMissingError(`\`${operation}\` needs the Pulumi CLI (${detail}): ${INSTALL_HINT}`);
        }
        if (!this.env.PULUMI_CONFIG_PASSPHRASE && !this.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
            throw new ToolMissingError(
                "PULUMI_CONFIG_PASSPHRASE is not set: the stacks use passphrase-encrypted secrets. Export it (or " +
                    "PULUMI_CONFIG_PASSPHRASE_FILE) with your team's passphrase; for a throw-away local backend any value works.",
            );
        }
        if (this.backendUrl().startsWith("file://")) {
            fs.mkdirSync(this.backendUrl().slice("file://".length), { recursive: true });
        }
        // Plugins once, before the fan-out.
        const workspace = await LocalWorkspace.create({ workDir: this.workspaceDir("_plugins"), pulumiCommand: this.command, envVars: this.envVars() });
        for (const plugin of ["aws", "kubernetes"]) {
            const version = pluginVersion(this.options.cwd, plugin);
            if (version) await workspace.installPlugin(plugin, `v${version}`);
        }
    }

    private envVars(): Record<string, string> {
        return { PULUMI_BACKEND_URL: this.backendUrl() };
    }

    private workspaceDir(stack: string): string {
        const dir = path.join(this.options.cwd, ".pulumi-workspaces", stack);
        fs.mkdirSync(dir, { recursive: true });
        return dir;
    }

    private async stackFor(target: StackTarget): Promise<Stack> {
        const workDir = this.workspaceDir(target.stack);
        fs.writeFileSync(path.join(workDir, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json" }));
        const workspace = await LocalWorkspace.create({
            workDir,
            pulumiCommand: this.command,
            envVars: this.envVars(),
            secretsProvider: "passphrase",
            projectSettings: {
                name: PROJECT,
                runtime: { name: "nodejs", options: { typescript: true } },
                main: "../../programs/",
                backend: { url: this.backendUrl() },
            },
            stackSettings: { [target.stack]: { secretsProvider: "passphrase", config: target.config } },
        });
        return Stack.createOrSelect(target.stack, workspace);
    }

    async run(request: OperationRequest): Promise<OperationResult> {
        const stack = await this.stackFor(request.target);
        const common = { onOutput: request.onOutput, signal: request.signal };
        const policy = { policyPacks: request.policyPacks, policyPackConfigs: request.policyPackConfigs };
        try {
            switch (request.operation) {
                case "preview": {
                    const result = await stack.preview({ ...common, ...policy });
                    return { changes: { ...result.changeSummary } };
                }
                case "up": {
                    const result = await stack.up({ ...common, ...policy });
                    return {
                        changes: { ...result.summary.resourceChanges },
                        outputs: Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value])),
                    };
                }
                case "destroy": {
                    const result = await stack.destroy(common);
                    return { changes: { ...result.summary.resourceChanges } };
                }
                case "refresh": {
                    const result = await stack.refresh(common);
                    return { changes: { ...result.summary.resourceChanges } };
                }
                case "outputs": {
                    const outputs = await stack.outputs();
                    return { changes: {}, outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value])) };
                }
            }
        } catch (error) {
            if (request.signal.aborted) {
                // The CLI got SIGINT and stops gracefully; if its lock is still there, cancel releases it.
                await stack.cancel().catch(() => undefined);
            }
            throw error;
        }
    }
}

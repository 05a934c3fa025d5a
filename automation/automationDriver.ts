/**
 * The real StackDriver: Pulumi's Automation API (LocalWorkspace), which runs the Pulumi CLI.
 *
 * - **A user's own project** (`Pulumi.yaml` in --cwd): the project directory is the work dir, its own stack
 *   files, backend and secrets provider are used as they are; nothing is written there.
 * - **The bundled program** (stack files only): each stack runs in a workspace directory of its own
 *   (`.pulumi-workspaces/STACK/` under --cwd: concurrent `stack select` and settings writes in one directory
 *   corrupt each other) whose Pulumi.yaml points at the program shipped in the package, wherever
 *   `node_modules` put it, and whose stack settings are the stack file's (config, still-encrypted secrets,
 *   salt). Backend: `PULUMI_BACKEND_URL` when set, else `file://<cwd>/.pulumi-state` (no Pulumi Cloud account
 *   needed); passphrase secrets unless the stack file names another provider. Provider plugins are installed
 *   once, before the fan-out, at the versions the package depends on.
 *
 * Tested against a recording `pulumi` executable (test/runner/automationDriver.test.ts): the command lines,
 * work dirs and settings it produces; not what a real engine then does with them.
 */
import { EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { Operation, OperationRequest, OperationResult, StackDriver } from "./driver";
import { DIY_BACKEND } from "./backends";
import { ToolMissingError } from "./errors";
import { makeDirectory } from "./files";
import { Project } from "./project";
import { StackTarget } from "./stacks";
import { CONFIG_NAMESPACE } from "../programs/config";

export interface AutomationDriverOptions {
    project: Project;
    env?: NodeJS.ProcessEnv;
    /** `--backend`: wins over PULUMI_BACKEND_URL and the default. */
    backend?: string;
    /** Tells the operator what the runner chose or wrote (the default backend on first use, a .gitignore). */
    notice?: (text: string) => void;
}

/** What the runner writes into a directory of stack files, and keeps out of git there. */
const WRITTEN = [".pulumi-state/", ".pulumi-workspaces/"];

const INSTALL_HINT =
    "install the Pulumi CLI (https://www.pulumi.com/docs/install/: `curl -fsSL https://get.pulumi.com | sh` or " +
    "`brew install pulumi/tap/pulumi`) and make sure `pulumi` is on PATH. `render` and `check` work without it.";

/** The version of a Pulumi provider SDK as the bundled program resolves it. */
function pluginVersion(programDir: string, pkg: string): string | undefined {
    try {
        return JSON.parse(fs.readFileSync(require.resolve(`@pulumi/${pkg}/package.json`, { paths: [programDir] }), "utf8")).version;
    } catch {
        return undefined;
    }
}

/** Lists and objects back to YAML structure, as they were in the stack file (the program reads them the same way). */
function structured(config: Record<string, string>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
        try {
            out[key] = /^\s*[[{]/.test(value) ? JSON.parse(value) : value;
        } catch {
            out[key] = value;
        }
    }
    return out;
}

export class AutomationDriver implements StackDriver {
    private command?: PulumiCommand;
    private readonly env: NodeJS.ProcessEnv;
    private readonly project: Project;
    private readonly backend?: string;
    private readonly notice: (text: string) => void;
    /** The organisation the backend names stacks under (`organization` for DIY backends), once known. */
    private organization?: string;

    constructor(options: AutomationDriverOptions) {
        this.env = options.env ?? process.env;
        this.project = options.project;
        this.backend = options.backend;
        this.notice = options.notice ?? (() => undefined);
    }

    /**
     * The backend: --backend, else PULUMI_BACKEND_URL, else for the bundled program a file backend next to the stack
     * files; a user's own project keeps the CLI's (its login, or Pulumi.yaml `backend`).
     */
    private backendUrl(): string | undefined {
        if (this.backend) return this.backend;
        if (this.env.PULUMI_BACKEND_URL) return this.env.PULUMI_BACKEND_URL;
        return this.project.mode === "bundled" ? this.defaultBackend() : undefined;
    }

    private defaultBackend(): string {
        return `file://${path.join(this.project.dir, ".pulumi-state")}`;
    }

    /**
     * A directory of stack files is usually a git repository: what the runner writes there (state, workspaces) gets a
     * .gitignore entry, added once and announced.
     */
    private keepOutOfGit(): void {
        const file = path.join(this.project.dir, ".gitignore");
        const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
        const lines = new Set(existing.split(/\r?\n/).map((l) => l.trim()));
        const missing = WRITTEN.filter((entry) => !lines.has(entry) && !lines.has(entry.slice(0, -1)) && !lines.has(`/${entry}`));
        if (missing.length === 0) return;
        const prefix = existing === "" || existing.endsWith("\n") ? "" : "\n";
        fs.appendFileSync(file, `${prefix}# written by ray-s3-access: its local state and workspaces\n${missing.join("\n")}\n`);
        this.notice(`added ${missing.join(" and ")} to ${file}, so git leaves the runner's state and workspaces out`);
    }

    /** The organisation of stack references: `organization` on a DIY backend; on Pulumi Cloud the default org, else the user. */
    private async organizationOf(workspace: LocalWorkspace): Promise<string> {
        const url = this.backendUrl() ?? "";
        if (DIY_BACKEND.test(url)) return "organization";
        try {
            const { execFile } = await import("child_process");
            const stdout = await new Promise<string>((resolve, reject) =>
                execFile(
                    this.command!.command,
                    ["org", "get-default"],
                    { cwd: workspace.workDir, env: { ...this.env, ...this.envVars() }, timeout: 60_000 },
                    (error, out) => (error ? reject(error) : resolve(String(out))),
                ),
            );
            const org = stdout.trim();
            if (org !== "" && !/\s/.test(org)) return org;
        } catch {
            // No default organisation set: the user's own.
        }
        return (await workspace.whoAmI()).user;
    }

    private envVars(): Record<string, string> {
        const url = this.backendUrl();
        return url ? { PULUMI_BACKEND_URL: url } : {};
    }

    async prepare(operation: Operation, targets: StackTarget[]): Promise<void> {
        try {
            this.command = await PulumiCommand.get({ skipVersionCheck: true });
        } catch (error) {
            const detail = /ENOENT|code: -2|not found/i.test(String((error as Error).message)) ? "not found on PATH" : (error as Error).message.split("\n")[0];
            throw new ToolMissingError(`\`${operation}\` needs the Pulumi CLI (${detail}): ${INSTALL_HINT}`);
        }
        if (this.project.mode === "own") return; // the project's own backend, secrets and plugins
        const passphrase = targets.some((t) => (t.settings.secretsProvider ?? "passphrase") === "passphrase");
        if (passphrase && !this.env.PULUMI_CONFIG_PASSPHRASE && !this.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
            throw new ToolMissingError(
                "PULUMI_CONFIG_PASSPHRASE is not set: the stacks use passphrase-encrypted secrets. Export it (or " +
                    "PULUMI_CONFIG_PASSPHRASE_FILE) with your team's passphrase; for a throw-away local backend any value works.",
            );
        }
        const url = this.backendUrl()!;
        if (url === this.defaultBackend() && !fs.existsSync(url.slice("file://".length))) {
            this.notice(`no --backend or PULUMI_BACKEND_URL: the stacks' state goes to ${url} (a local file backend); give --backend to keep it elsewhere`);
        }
        if (url.startsWith("file://")) makeDirectory(url.slice("file://".length));
        this.keepOutOfGit();
        // Plugins once, before the fan-out, at the versions the bundled program was built against.
        const workspace = await LocalWorkspace.create({ workDir: this.workspaceDir("_plugins"), pulumiCommand: this.command, envVars: this.envVars() });
        // Tenant and shard stacks read their environment stack's outputs: by the backend's own name for it.
        if (targets.some((t) => t.environmentStackRef)) this.organization = await this.organizationOf(workspace);
        for (const plugin of ["aws", "kubernetes"]) {
            const version = pluginVersion(this.project.main, plugin);
            if (version) await workspace.installPlugin(plugin, `v${version}`);
        }
    }

    /** The target's config, its environment stack named as this backend names it. */
    private withEnvironmentStack(target: StackTarget): Record<string, string> {
        const ref = target.environmentStackRef;
        if (!ref || this.organization === undefined) return target.config;
        return { ...target.config, [`${CONFIG_NAMESPACE}:environmentStack`]: `${this.organization}/${ref.project}/${ref.stack}` };
    }

    private workspaceDir(stack: string): string {
        const dir = path.join(this.project.dir, ".pulumi-workspaces", stack);
        makeDirectory(dir);
        return dir;
    }

    private async stackFor(target: StackTarget): Promise<Stack> {
        if (this.project.mode === "own") {
            const workspace = await LocalWorkspace.create({ workDir: this.project.dir, pulumiCommand: this.command, envVars: this.envVars() });
            return Stack.createOrSelect(target.stack, workspace);
        }
        const workDir = this.workspaceDir(target.stack);
        const typescript = fs.existsSync(path.join(this.project.main, "index.ts"));
        if (typescript) {
            // The program from source (this repository): compile it as the repository does.
            fs.writeFileSync(
                path.join(workDir, "tsconfig.json"),
                JSON.stringify({ compilerOptions: { strict: true, target: "es2022", module: "commonjs", esModuleInterop: true, skipLibCheck: true } }),
            );
        }
        const { secretsProvider = "passphrase", encryptionSalt, encryptedKey } = target.settings;
        const workspace = await LocalWorkspace.create({
            workDir,
            pulumiCommand: this.command,
            envVars: this.envVars(),
            secretsProvider,
            projectSettings: {
                name: this.project.name,
                runtime: { name: "nodejs", options: { typescript } },
                main: path.relative(workDir, this.project.main) || ".",
                backend: { url: this.backendUrl() },
            },
            stackSettings: {
                [target.stack]: {
                    secretsProvider,
                    encryptionSalt,
                    encryptedKey,
                    config: { ...structured(this.withEnvironmentStack(target)), ...target.secrets },
                },
            },
        });
        return Stack.createOrSelect(target.stack, workspace);
    }

    async run(request: OperationRequest): Promise<OperationResult> {
        const stack = await this.stackFor(request.target);
        const onEvent = (event: EngineEvent) => {
            if (event.resourcePreEvent) request.onEvent?.("started");
            else if (event.resOutputsEvent) request.onEvent?.("done");
        };
        const common = { onOutput: request.onOutput, ...(request.onEvent ? { onEvent } : {}), signal: request.signal };
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

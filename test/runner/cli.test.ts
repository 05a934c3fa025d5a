import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../support/cli";
import { resetMocks } from "../support/mocks";
import { FakeDriver } from "../support/fakeDriver";
import { StackDriver } from "../../automation/driver";
import { VerifyClients } from "../../automation/verify";

const ROOT = path.join(__dirname, "..", "..");

function cli(args: string[], extra: { driver?: StackDriver; listNamespaces?: (s: string) => Promise<string[]>; verifyClients?: () => VerifyClients } = {}) {
    return runCli(args, {
        driver: extra.driver ? () => extra.driver! : undefined,
        listNamespaces: extra.listNamespaces,
        verifyClients: extra.verifyClients,
    });
}

/** A project directory with the given stack files (and the real policies/ next to it via --policy-pack). */
function project(stacks: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ray-s3-access-cli-"));

    for (const [name, content] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), content);
    return dir;
}

const POLICIES = path.join(ROOT, "policies");

describe("ray-s3-access CLI", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    it("render --json prints every stack's resources in the documented shape", async () => {
        const { code, stdout } = await cli(["render", "--cwd", ROOT, "--json"]);
        assert.equal(code, 0);
        const json = JSON.parse(stdout);
        assert.deepEqual(
            json.stacks.map((s: any) => s.stack),
            ["dev", "prod"],
        );
        const dev = json.stacks[0];
        assert.ok(dev.resources.every((r: any) => typeof r.type === "string" && typeof r.name === "string" && typeof r.inputs === "object"));
        const types = dev.resources.map((r: any) => r.type);
        assert.equal(types.filter((t: string) => t === "ray-s3-access:index:RayS3Access").length, 3);
        const profile = dev.resources.find((r: any) => r.type === "kubernetes:kubeflow.org/v1:Profile");
        assert.deepEqual(profile.inputs.spec.plugins[0].kind, "AwsIamForServiceAccount");
        assert.equal(profile.inputs.spec.owner.name, "alice@example.com");
        const kubeflowRole = dev.resources.find((r: any) => r.type === "aws:iam/role:Role" && r.name === "kubeflow-alice-role");
        assert.match(kubeflowRole.inputs.assumeRolePolicy, /system:serviceaccount:kubeflow-alice:default-editor/);
        const prodTypes = json.stacks[1].resources.map((r: any) => r.type);
        assert.equal(prodTypes.filter((t: string) => t === "aws:eks/podIdentityAssociation:PodIdentityAssociation").length, 3);
    });

    it("render prints trust and permission policies as JSON, manifests as YAML, and SkyPilot's setting", async () => {
        const { code, stdout } = await cli(["render", "--cwd", ROOT, "--stack", "dev"]);
        assert.equal(code, 0);
        assert.match(stdout, /-- RayS3Access ray \(role ray-role-[^)]*\): service accounts ray\/ray-worker\n/);
        assert.match(stdout, /^   ray-s3-access:index:RayS3Access ray\n      aws:iam\/policy:Policy ray-policy$/m, "every resource, under its parent");
        assert.match(
            stdout,
            /\ndev: 15 resources, 3 RayS3Access roles serving 3 namespace\(s\): ray, kubeflow-alice, skypilot\n$/,
            "a one-line summary per stack last",
        );
        assert.match(stdout, /"sts:AssumeRoleWithWebIdentity"/);
        assert.match(stdout, /kind: ServiceAccount\n[\s\S]*eks\.amazonaws\.com\/role-arn: arn:aws:iam::123456789012:role\/ray-role-/);
        assert.match(stdout, /kind: Profile/);
        assert.match(stdout, /remote_identity: NO_UPLOAD/);
        assert.match(stdout, /remote_identity: skypilot-service-account/);
    });

    it("render groups documents by the component the program registered: an abac role lists every tenant it serves", async () => {
        const dir = project({
            prod: `config:
  ray-s3-access:identity: podIdentity
  ray-s3-access:clusterName: ray-prod
  ray-s3-access:roleSharing: abac
  ray-s3-access:tenants:
    - namespace: team-a
      buckets: [{ bucket: shared-ckpt, prefixes: ["checkpoints/"] }]
    - namespace: team-b
      buckets: [{ bucket: shared-ckpt, prefixes: ["checkpoints/"] }]
`,
        });
        const { code, stdout } = await cli(["render", "--cwd", dir]);
        assert.equal(code, 0, stdout);
        const headers = stdout.match(/^-- RayS3Access .*$/gm) ?? [];
        assert.equal(headers.length, 1, "one shared role, not one entry per tenant");
        assert.match(headers[0], /service accounts team-a\/ray-s3-sa, team-b\/ray-s3-sa$/);
        assert.match(stdout, /prod: \d+ resources, 1 RayS3Access role serving 2 namespace\(s\): team-a, team-b\n$/);
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-abac-"));
        assert.equal((await cli(["render", "--cwd", dir, "--out", out])).code, 0);
        const role = JSON.parse(fs.readFileSync(path.join(out, "prod", "abac-shared", "role.json"), "utf8"));
        assert.deepEqual(
            role.serviceAccounts.map((a: any) => a.namespace),
            ["team-a", "team-b"],
        );
    });

    it("render --out writes per-tenant files a GitOps repository can take", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-out-"));
        const { code } = await cli(["render", "--cwd", ROOT, "--stack", "prod", "--out", out]);
        assert.equal(code, 0);
        const trust = JSON.parse(fs.readFileSync(path.join(out, "prod", "ray-team-a", "trust-policy.json"), "utf8"));
        assert.equal(trust.Statement[0].Principal.Service, "pods.eks.amazonaws.com");
        assert.ok(fs.readFileSync(path.join(out, "prod", "ray-team-a", "manifests.yaml"), "utf8").includes("kind: ServiceAccount"));
        assert.ok(JSON.parse(fs.readFileSync(path.join(out, "prod", "resources.json"), "utf8")).length > 0);
    });

    it("check passes the example stacks (exit 0) and --json adds violations", async () => {
        const { code, stdout } = await cli(["check", "--cwd", ROOT, "--json"]);
        assert.equal(code, 0);
        const json = JSON.parse(stdout);
        assert.deepEqual(
            json.stacks.map((s: any) => s.violations),
            [[], []],
        );
    });

    it("check exits 1 on a mandatory violation and names it", async () => {
        const dir = project({
            prod: `config:
  ray-s3-access:identity: podIdentity
  ray-s3-access:clusterName: ray-prod
  ray-s3-access:tenants:
    - namespace: ray
      buckets: [{ bucket: ray-prod-data }]
      additionalPolicyArns: ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
`,
        });
        const { code, stdout } = await cli(["check", "--cwd", dir, "--policy-pack", POLICIES]);
        assert.equal(code, 1);
        assert.match(stdout, /\[mandatory\] no-s3-wildcard-in-production: .*AmazonS3FullAccess/);
        // The managed-policy list says AmazonS3FullAccess also grants bucket-admin actions.
        assert.match(stdout, /\[mandatory\] no-bucket-admin-for-workloads: .*AmazonS3FullAccess, which grants bucket-admin actions \(s3:CreateBucket/);
        assert.match(stdout, /check failed: 2 mandatory violation/);
        const json = JSON.parse((await cli(["check", "--cwd", dir, "--policy-pack", POLICIES, "--json"])).stdout);
        assert.deepEqual(Object.keys(json.stacks[0].violations[0]).sort(), ["enforcementLevel", "message", "policy", "urn"]);
    });

    it("a broken config exits 2 naming the stack, the tenant and the field, before anything runs", async () => {
        const dir = project({
            dev: `config:
  ray-s3-access:oidcProviderArn: arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X
  ray-s3-access:tenants:
    - namespace: team-a
      buckets: [{ bucket: "s3://team-a-data" }]
    - namespace: team-b
      buckets: []
    - namespace: Team_C
      buckets: [{ bucket: ok-bucket, acess: read }]
`,
        });
        const driver = new FakeDriver();
        const { code, stderr } = await cli(["up", "--cwd", dir], { driver });
        assert.equal(code, 2);
        assert.match(stderr, /stack "dev" has invalid configuration/);
        assert.match(stderr, /tenant 1 \("team-b"\) field buckets: /);
        assert.match(stderr, /tenant 2 \("Team_C"\) field buckets\[0\]: unknown key "acess" \(did you mean access\?\)/);
        assert.equal(driver.starts.length, 0, "nothing ran");
        const second = project({
            dev: `config:
  ray-s3-access:oidcProviderArn: arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X
  ray-s3-access:tenants:
    - namespace: team-a
      buckets: [{ bucket: "s3://team-a-data" }]
`,
        });
        const component = await cli(["render", "--cwd", second]);
        assert.equal(component.code, 2);
        assert.match(component.stderr, /tenant 0 \("team-a"\): buckets\[0\]\.bucket "s3:\/\/team-a-data" is an S3 URL/);
    });

    it("a mistake copied to many tenants: the message lists the first 20 problems and counts the rest; --json carries every one", async () => {
        const tenants = Array.from({ length: 35 }, (_, i) => `    - namespace: team-${i}\n      buckets: [{ bucket: ckpt, acess: read }]`).join("\n");
        const dir = project({
            dev: `config:\n  ray-s3-access:oidcProviderArn: arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X\n  ray-s3-access:tenants:\n${tenants}\n`,
        });
        const text = await cli(["check", "--cwd", dir, "--stack", "dev"]);
        assert.equal(text.code, 2);
        const listed = text.stderr.split("\n").filter((l) => l.startsWith("- "));
        assert.equal(listed.length, 21);
        assert.match(listed[0], /^- tenant 0 \("team-0"\) field buckets\[0\]: unknown key "acess"/);
        assert.match(listed[19], /^- tenant 19 \("team-19"\)/);
        assert.equal(listed[20], "- and 15 more problems (every one: `ray-s3-access check --stack dev --json`)");
        const json = await cli(["check", "--cwd", dir, "--stack", "dev", "--json"]);
        assert.equal(json.code, 2);
        const doc = JSON.parse(json.stdout);
        assert.equal(doc.problems.length, 35);
        assert.match(doc.problems[34], /^tenant 34 \("team-34"\) field buckets\[0\]: unknown key "acess"/);
    });

    it("unknown keys, unknown stacks and unknown tenants are usage errors (exit 2)", async () => {
        const dir = project({ dev: "config:\n  ray-s3-access:tenats: []\n" });
        const typo = await cli(["render", "--cwd", dir]);
        assert.equal(typo.code, 2);
        assert.match(typo.stderr, /ray-s3-access:tenats is not a known key \(did you mean ray-s3-access:tenants\?\)/);
        assert.doesNotMatch(typo.stderr, /environmentStack|tenantStacks|ray-s3-access:tenant,/, "keys the runner sets itself are not offered");
        const nested = project({
            dev: 'config:\n  ray-s3-access:tenants:\n    - namespace: team-a\n      buckets: [{ bucket: ckpt, prefix: ["a/"] }]\n',
        });
        const bucketTypo = await cli(["render", "--cwd", nested]);
        assert.equal(bucketTypo.code, 2);
        assert.match(bucketTypo.stderr, /tenant 0 \("team-a"\) field buckets\[0\]: unknown key "prefix" \(did you mean prefixes\?\)/);
        const noTenants = await cli(["render", "--cwd", project({ dev: "config:\n  ray-s3-access:identity: irsa\n" })]);
        assert.match(noTenants.stderr, /ray-s3-access:tenants is missing: list the tenants/);
        assert.equal((await cli(["render", "--cwd", ROOT, "--stack", "staging"])).code, 2);
        const tenant = await cli(["render", "--cwd", ROOT, "--tenant", "nobody"]);
        assert.equal(tenant.code, 2);
        assert.match(tenant.stderr, /--tenant "nobody" matches no tenant/);
        assert.equal((await cli(["deploy"])).code, 2);
        assert.equal((await cli(["up", "--concurrency", "0", "--cwd", ROOT])).code, 2);
    });

    it("flags are checked before anything runs: values, numbers, account ids, and a suggestion for a mistyped flag", async () => {
        const cases: [string[], RegExp][] = [
            [["render", "--cwd", ROOT, "--stack"], /Not enough arguments following: stack/],
            [["render", "--cwd", ROOT, "--account-id", "abc"], /--account-id "abc" must be an AWS account id: 12 digits/],
            [["up", "--cwd", ROOT, "--concurrency", "abc"], /--concurrency "abc" must be a whole number, at least 1/],
            [["up", "--cwd", ROOT, "--concurrency", "2.5"], /--concurrency "2.5" must be a whole number, at least 1/],
            [["check", "--cwd", ROOT, "--polcy-pack", "x"], /unknown option --polcy-pack: did you mean --policy-pack\?/],
            [["render", "--cwd", ROOT, "--stack", "dev", "--per-tenat"], /unknown option --per-tenat: did you mean --per-tenant\?/],
            [["render", "--cwd", ROOT, "--stack", "../etc/passwd"], /--stack "..\/etc\/passwd" is not a stack name/],
            [["render", "--cwd", path.join(ROOT, "no-such-dir")], /--cwd .*no-such-dir: no such directory/],
        ];
        for (const [args, message] of cases) {
            const { code, stderr } = await cli(args);
            assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
            assert.match(stderr, message);
        }
        const ok = await cli(["render", "--cwd", ROOT, "--stack", "dev", "--account-id", "111122223333", "--json"]);
        assert.equal(ok.code, 0);
        assert.match(ok.stdout, /arn:aws:iam::111122223333:role\//);
    });

    it("--per-tenant renders STACK.NAMESPACE stacks that read the environment stack's outputs", async () => {
        const { code, stdout } = await cli(["render", "--cwd", ROOT, "--stack", "dev", "--per-tenant", "--tenant", "ray", "--json"]);
        assert.equal(code, 0);
        const json = JSON.parse(stdout);
        assert.deepEqual(
            json.stacks.map((s: any) => s.stack),
            ["dev", "dev.ray"],
        );
        assert.equal(json.stacks[0].resources.filter((r: any) => r.type === "ray-s3-access:index:RayS3Access").length, 0);
        assert.equal(json.stacks[1].resources.filter((r: any) => r.type === "ray-s3-access:index:RayS3Access").length, 1);

        // The environment stack creates the OIDC provider; the tenant stack trusts it through StackReference.
        const dir = project({
            dev: `config:
  ray-s3-access:createOidcProvider: true
  ray-s3-access:oidcIssuerUrl: https://oidc.eks.us-west-2.amazonaws.com/id/CREATEDBYENV
  ray-s3-access:tenants:
    - namespace: team-a
      buckets: [{ bucket: team-a-data }]
`,
        });
        const split = JSON.parse((await cli(["render", "--cwd", dir, "--per-tenant", "--json"])).stdout);
        assert.deepEqual(
            split.stacks[0].resources.map((r: any) => r.type),
            ["aws:iam/openIdConnectProvider:OpenIdConnectProvider"],
        );
        const role = split.stacks[1].resources.find((r: any) => r.type === "aws:iam/role:Role");
        assert.match(
            role.inputs.assumeRolePolicy,
            /"Federated":"arn:aws:iam::123456789012:oidc-provider\/oidc\.eks\.us-west-2\.amazonaws\.com\/id\/CREATEDBYENV"/,
        );
        assert.equal(
            split.stacks[1].resources.filter((r: any) => r.type.includes("OpenIdConnectProvider")).length,
            0,
            "the tenant stack does not create another provider",
        );
    });

    it("--discover keeps the tenants whose namespaces carry the label", async () => {
        const listNamespaces = async (selector: string) => (selector === "ray-s3-access/tenant=true" ? ["ray", "unlisted"] : []);
        const { code, stdout, stderr } = await cli(["render", "--cwd", ROOT, "--stack", "dev", "--discover", "ray-s3-access/tenant=true", "--json"], {
            listNamespaces,
        });
        assert.equal(code, 0);
        const components = JSON.parse(stdout).stacks[0].resources.filter((r: any) => r.type === "ray-s3-access:index:RayS3Access");
        assert.deepEqual(
            components.map((c: any) => c.name),
            ["ray"],
        );
        assert.match(stderr, /namespaces unlisted match .* but have no tenant entry/);
        // An unset variable in `--discover "$SELECTOR"` would select every namespace.
        let asked = false;
        const empty = await cli(["render", "--cwd", ROOT, "--stack", "dev", "--discover", " "], {
            listNamespaces: async () => {
                asked = true;
                return [];
            },
        });
        assert.equal(empty.code, 2);
        assert.match(empty.stderr, /--discover "" is an empty label selector, which selects every namespace/);
        assert.equal(asked, false, "the cluster was not asked");
    });

    it("preview/up run through the driver with the policy pack and print a summary; failures exit 1", async () => {
        const driver = new FakeDriver({ latencyMs: 5 });
        const ok = await cli(["up", "--cwd", ROOT, "--per-tenant", "--stack", "dev", "--concurrency", "2", "--yes"], { driver });
        assert.equal(ok.code, 0);
        assert.deepEqual(driver.prepared, ["up"]);
        assert.match(ok.stdout, /dev\.kubeflow-alice\s+up\s+succeeded/);
        assert.match(ok.stdout, /4 succeeded, 0 failed/);
        const failing = new FakeDriver({ latencyMs: 5, failing: ["prod"] });
        const bad = await cli(["preview", "--cwd", ROOT, "--json"], { driver: failing });
        assert.equal(bad.code, 1);
        assert.deepEqual(JSON.parse(bad.stdout).summary, { succeeded: 1, failed: 1, cancelled: 0, skipped: 0 });
    });

    it("verify reads the deployed outputs through the driver and exits 1 with the fix when a role is missing", async () => {
        const driver: StackDriver = {
            prepare: async () => undefined,
            run: async (request) => ({
                changes: {},
                outputs: { tenants: Object.fromEntries(request.target.tenants.map((ns) => [ns, { roleArn: `arn:aws:iam::111122223333:role/${ns}-role-x` }])) },
            }),
        };
        const noSuchEntity = Object.assign(new Error("The role cannot be found"), { name: "NoSuchEntityException" });
        const verifyClients = (): VerifyClients => ({
            iam: { send: async () => Promise.reject(noSuchEntity) },
            eks: { send: async () => ({}) },
        });
        const { code, stdout } = await cli(["verify", "--cwd", ROOT, "--stack", "dev", "--tenant", "ray"], { driver, verifyClients });
        assert.equal(code, 1);
        assert.match(stdout, /FAIL dev\/ray role: role ray-role-x does not exist\n\s+fix: run `ray-s3-access up --stack dev`/);
        assert.match(stdout, /verify failed: 1 check/);
    });

    it("destroy needs --yes", async () => {
        const driver = new FakeDriver();
        const refused = await cli(["destroy", "--cwd", ROOT], { driver });
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /re-run with --yes/);
        assert.equal(driver.starts.length, 0);
        assert.equal((await cli(["destroy", "--cwd", ROOT, "--yes"], { driver })).code, 0);
    });

    it("without the Pulumi CLI, preview says how to install it and exits 2; render and check keep working", async () => {
        const savedPath = process.env.PATH;
        process.env.PATH = "/nonexistent";
        try {
            const { code, stderr } = await cli(["preview", "--cwd", ROOT, "--stack", "dev"]);
            assert.equal(code, 2);
            assert.match(stderr, /needs the Pulumi CLI \(not found on PATH\): install the Pulumi CLI/);
        } finally {
            process.env.PATH = savedPath;
        }
    });
});

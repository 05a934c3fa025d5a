/**
 * `explain`: allowed or denied, and why, from what the stack creates, for every sharing mode; a Deny in a permissions
 * boundary the program creates; a ReadWrite session on a read tenant's directory bucket; S3's own AccessDenied text.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../support/cli";
import { resetMocks } from "../support/mocks";

const ROOT = path.join(__dirname, "..", "..");

/** A directory of one stack file (`dev`) for the bundled program. */
function stackDir(config: Record<string, unknown>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "explain-"));
    const lines = Object.entries(config).map(([k, v]) => `  ray-s3-access:${k}: ${JSON.stringify(v)}`);
    fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), `config:\n  aws:region: us-west-2\n${lines.join("\n")}\n`);
    return dir;
}

async function explain(dir: string, ...args: string[]) {
    const { code, stdout, stderr } = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--json", ...args]);
    assert.ok(code === 0 || code === 1, `exit ${code}: ${stderr}${stdout}`);
    return { code, answer: JSON.parse(stdout) };
}

const TENANTS = [
    { namespace: "team-a", buckets: [{ bucket: "shared-ckpt", prefixes: ["team-a/"] }] },
    { namespace: "team-b", buckets: [{ bucket: "shared-ckpt", prefixes: ["team-b/"] }] },
];

describe("explain", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    const modes: [string, Record<string, unknown>, (ns: string) => string][] = [
        [
            "perTenant (IRSA)",
            { oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC", tenants: TENANTS },
            (ns) => `${ns}/`,
        ],
        [
            "packed (IRSA)",
            { oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC", roleSharing: "packed", tenants: TENANTS },
            (ns) => `${ns}/`,
        ],
        ["perTenant (Pod Identity)", { identity: "podIdentity", clusterName: "ray", tenants: TENANTS }, (ns) => `${ns}/`],
        [
            "abac (Pod Identity)",
            { identity: "podIdentity", clusterName: "ray", roleSharing: "abac", tenants: TENANTS.map((t) => ({ ...t, buckets: [{ bucket: "shared-ckpt" }] })) },
            (ns) => `${ns}/`,
        ],
        ["sessionPolicy (Pod Identity)", { identity: "podIdentity", clusterName: "ray", roleSharing: "sessionPolicy", tenants: TENANTS }, (ns) => `${ns}/`],
    ];
    for (const [mode, config, prefixOf] of modes) {
        it(`${mode}: its own prefix is allowed naming the statement; another tenant's is denied, and why`, async () => {
            const dir = stackDir(config);
            const own = await explain(dir, "s3:PutObject", `s3://shared-ckpt/${prefixOf("team-a")}model.pt`, "--tenant", "team-a");
            assert.equal(own.code, 0, own.answer.reason);
            assert.match(own.answer.reason, /^allowed: .*statement/);
            assert.ok(own.answer.documents.some((d: any) => d.decision === "Allow" && d.statements.length > 0));
            const other = await explain(dir, "s3:GetObject", `s3://shared-ckpt/${prefixOf("team-b")}model.pt`, "--tenant", "team-a");
            assert.equal(other.code, 1);
            if (mode.startsWith("sessionPolicy")) {
                assert.match(
                    other.answer.reason,
                    /^denied: permissions policy of role .* allows it, but session policy of the association team-a\/ray-s3-sa does not/,
                );
            } else {
                assert.match(
                    other.answer.reason,
                    /^denied: no statement of permissions policy of role .* allows s3:GetObject on arn:aws:s3:::shared-ckpt\/team-b\/model\.pt \(implicit deny\)/,
                );
            }
            const list = await explain(dir, "s3:ListBucket", "s3://shared-ckpt", "--tenant", "team-a", "--prefix", `${prefixOf("team-b")}`);
            assert.equal(list.code, 1, "listing another tenant's prefix is denied");
            const ownList = await explain(dir, "s3:ListBucket", "s3://shared-ckpt", "--tenant", "team-a", "--prefix", `${prefixOf("team-a")}x`);
            assert.equal(ownList.code, 0, ownList.answer.reason);
        });
    }

    it("a ReadWrite session on a read tenant's directory bucket is denied; ReadOnly is allowed", async () => {
        const bucket = "ckpt--usw2-az1--x-s3";
        const dir = stackDir({ identity: "podIdentity", clusterName: "ray", tenants: [{ namespace: "team-a", buckets: [{ bucket, access: "read" }] }] });
        const arn = `arn:aws:s3express:us-west-2:123456789012:bucket/${bucket}`;
        const rw = await explain(dir, "s3express:CreateSession", arn, "--tenant", "team-a", "--session-mode", "ReadWrite");
        assert.equal(rw.code, 1);
        assert.match(rw.answer.reason, /implicit deny/);
        const ro = await explain(dir, "s3express:CreateSession", arn, "--tenant", "team-a", "--session-mode", "ReadOnly");
        assert.equal(ro.code, 0, ro.answer.reason);
    });

    it("a Deny in a permissions boundary the program creates is named; a boundary of another stack is said to be not evaluated", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "explain-own-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: ml-platform\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config:\n  aws:region: us-west-2\n");
        // The project's dependencies: this repository's (the SDKs the component is built with).
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
        fs.writeFileSync(
            path.join(dir, "index.ts"),
            `import * as aws from "@pulumi/aws";
import { RayS3Access } from ${JSON.stringify(path.join(ROOT, "components"))};
const boundary = new aws.iam.Policy("boundary", {
    policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "EverythingElse", Effect: "Allow", Action: "s3:*", Resource: "*" },
            { Sid: "NoDeletes", Effect: "Deny", Action: "s3:DeleteObject", Resource: "*" },
        ],
    }),
});
new RayS3Access("ray", {
    namespace: "ray",
    oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC",
    buckets: [{ bucket: "ckpt", prefixes: ["runs/"] }],
    permissionsBoundaryArn: boundary.arn,
});
new RayS3Access("other", {
    namespace: "other",
    oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC",
    buckets: [{ bucket: "ckpt", prefixes: ["other/"] }],
    permissionsBoundaryArn: "arn:aws:iam::123456789012:policy/org-boundary",
});
`,
        );
        const denied = await explain(dir, "s3:DeleteObject", "s3://ckpt/runs/old.pt", "--tenant", "ray");
        assert.equal(denied.code, 1);
        assert.match(denied.answer.reason, /^denied: permissions boundary arn:aws:iam::\d+:policy\/boundary-\w+, statement NoDeletes, denies it/);
        const allowed = await explain(dir, "s3:GetObject", "s3://ckpt/runs/old.pt", "--tenant", "ray");
        assert.equal(allowed.code, 0);
        assert.match(allowed.answer.reason, /within permissions boundary/);
        const unknown = await explain(dir, "s3:GetObject", "s3://ckpt/other/x", "--tenant", "other");
        assert.match(unknown.answer.reason, /not evaluated: permissions boundary arn:aws:iam::123456789012:policy\/org-boundary \(not in this stack\)/);
    });

    it("S3's AccessDenied text: the role and the request are read from it, and the answer says why", async () => {
        const dir = stackDir({ oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC", tenants: TENANTS });
        const message =
            'An error occurred (AccessDenied) when calling the GetObject operation: User: arn:aws:sts::123456789012:assumed-role/team-a-role-5f3e2a1/botocore-session-1733 is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::shared-ckpt/team-b/model.pt" because no identity-based policy allows the s3:GetObject action';
        const { code, answer } = await explain(dir, "--message", message);
        assert.equal(code, 1);
        assert.equal(answer.tenant, "team-a", "the deployed role's name (another random suffix) finds the tenant");
        assert.match(
            answer.reason,
            /no statement of permissions policy of role team-a-role-\w+ allows s3:GetObject on arn:aws:s3:::shared-ckpt\/team-b\/model\.pt/,
        );
        const bad = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--message", "Access Denied"]);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--message does not read as S3's AccessDenied text/);
        // A pasted log instead of the message: refused at once, before any matching.
        const huge = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--message", "arn:aws:sts::123456789012:assumed-role/r/".repeat(3000)]);
        assert.equal(huge.code, 2);
        assert.match(huge.stderr, /--message is 123000 characters: S3's AccessDenied text is under 4096; paste only the error message/);
    });

    it("S3 denied what the stack allows: its reason names where to look (the deployed role, a bucket policy, the organization, a VPC endpoint)", async () => {
        const dir = stackDir({ oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC", tenants: TENANTS });
        const denied = (because: string) =>
            `User: arn:aws:sts::123456789012:assumed-role/team-a-role-5f3e2a1/botocore-session-1733 is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::shared-ckpt/team-a/model.pt" ${because}`;
        const cases: [string, string, RegExp][] = [
            [
                "because no identity-based policy allows the s3:GetObject action",
                "identity",
                /the deployed role does not carry these documents .*ray-s3-access verify --stack dev/,
            ],
            ["with an explicit deny in a resource-based policy", "resource", /the bucket's policy, .*get-bucket-policy --bucket shared-ckpt/],
            ["with an explicit deny in a service control policy", "scp", /service control policy of your AWS Organization/],
            ["with an explicit deny in a resource control policy", "rcp", /resource control policy of your AWS Organization/],
            ["with an explicit deny in a VPC endpoint policy", "vpc-endpoint", /S3 VPC endpoint/],
            ["because no permissions boundary allows the s3:GetObject action", "boundary", /permissions boundary on the deployed role/],
            ["because no session policy allows the s3:GetObject action", "session", /session policy the pod's credentials were issued with/],
        ];
        for (const [because, source, hint] of cases) {
            const { code, answer } = await explain(dir, "--message", denied(because));
            assert.equal(code, 0, "the stack's own documents allow the tenant its prefix");
            assert.equal(answer.s3Said.because, because);
            assert.equal(answer.s3Said.source, source, because);
            assert.match(answer.s3Said.hint, hint, because);
        }
        const text = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--message", denied(cases[2][0])]);
        assert.match(
            text.stdout,
            /^allowed: .*\nbut S3 denied it \(with an explicit deny in a service control policy\) and this stack's documents allow it: look at a service control policy/m,
        );
        // A request the stack itself denies needs no other source.
        const own = await explain(dir, "--message", denied(cases[0][0]).replace("team-a/model.pt", "team-b/model.pt"));
        assert.equal(own.code, 1);
        assert.equal(own.answer.s3Said, undefined);
    });

    it("pyarrow's AccessDenied (Ray Data, Ray Train): the operation read as its IAM action, explained for the tenant given", async () => {
        const dir = stackDir({ oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC", tenants: TENANTS });
        // pyarrow 25.0.1's own messages (seen against moto with a role that may do nothing).
        const list =
            "OSError: When listing objects under key 'team-b/' in bucket 'shared-ckpt': AWS Error ACCESS_DENIED during ListObjectsV2 operation: Access Denied (Request ID: wc8h)";
        const head = (key: string) =>
            `When getting information for key '${key}' in bucket 'shared-ckpt': AWS Error ACCESS_DENIED during HeadObject operation: No response body.`;
        const write =
            "When initiating multiple part upload for key 'team-a/run-2/model.pt' in bucket 'shared-ckpt': AWS Error ACCESS_DENIED during CreateMultipartUpload operation: Access Denied (Request ID: TOSw)";

        const denied = await explain(dir, "--tenant", "team-a", "--message", list);
        assert.equal(denied.code, 1);
        assert.deepEqual(
            [denied.answer.request.action, denied.answer.request.resource, denied.answer.request.context["s3:prefix"]],
            ["s3:ListBucket", "arn:aws:s3:::shared-ckpt", "team-b/"],
        );
        assert.match(denied.answer.reason, /allows s3:ListBucket on arn:aws:s3:::shared-ckpt with s3:prefix "team-b\/" \(implicit deny\)$/);
        assert.equal(denied.answer.pyarrow.operation, "ListObjectsV2");
        // The tenant's own prefix: allowed, so the denial came from elsewhere (and HeadObject's 403 may be a missing key).
        const own = await explain(dir, "--tenant", "team-a", "--message", head("team-a/run-1/model.pt"));
        assert.equal(own.code, 0);
        assert.equal(own.answer.request.action, "s3:GetObject");
        assert.match(own.answer.pyarrow.note, /HeadObject with 403 for a key that does not exist/);
        assert.match(own.answer.s3Said.hint, /pyarrow signs as the workload role/);
        const upload = await explain(dir, "--tenant", "team-b", "--message", write);
        assert.equal(upload.code, 1, "team-b may not write under team-a/");
        assert.equal(upload.answer.request.action, "s3:PutObject");
        const text = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--tenant", "team-a", "--message", list]);
        assert.match(text.stdout, /^pyarrow's ListObjectsV2 needs s3:ListBucket with s3:prefix "team-b\/"\n/);

        // Without --tenant (the message names no role), and on a directory bucket (a session decides): usage errors.
        const noTenant = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--message", list]);
        assert.equal(noTenant.code, 2);
        assert.match(noTenant.stderr, /pyarrow's message names no role: give --tenant/);
        const express = await runCli([
            "explain",
            "--cwd",
            dir,
            "--stack",
            "dev",
            "--tenant",
            "team-a",
            "--message",
            "When listing objects under key '' in bucket 'ckpt--usw2-az1--x-s3': AWS Error ACCESS_DENIED during ListObjectsV2 operation: Access Denied",
        ]);
        assert.equal(express.code, 2);
        assert.match(
            express.stderr,
            /ckpt--usw2-az1--x-s3 is a directory bucket: .*explain s3express:CreateSession arn:aws:s3express:REGION:ACCOUNT:bucket\/ckpt--usw2-az1--x-s3 --session-mode ReadOnly/,
        );
    });

    it("usage: one --stack, ACTION and RESOURCE or --message, a tenant the stack serves", async () => {
        const dir = stackDir({ oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC", tenants: TENANTS });
        assert.match((await runCli(["explain", "--cwd", dir, "s3:GetObject", "s3://x/y", "--tenant", "team-a"])).stderr, /explain needs one --stack/);
        assert.match((await runCli(["explain", "--cwd", dir, "--stack", "dev", "--tenant", "team-a"])).stderr, /give ACTION and RESOURCE/);
        const unknown = await runCli(["explain", "--cwd", dir, "--stack", "dev", "s3:GetObject", "s3://x/y", "--tenant", "team-z"]);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /stack dev has no role for team-z: it serves team-a\/ray-s3-sa, team-b\/ray-s3-sa/);
        assert.match(
            (await runCli(["explain", "--cwd", dir, "--stack", "dev", "s3:GetObject", "ckpt/y", "--tenant", "team-a"])).stderr,
            /neither an ARN nor s3:\/\/bucket\/key/,
        );
    });

    it('a request no client could make is exit 2, never "denied": patterns, typos, actions of another resource type, options of another action', async () => {
        const dir = stackDir({ oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC", tenants: TENANTS });
        const refused: [string[], RegExp][] = [
            [["s3:Get*", "s3://ckpt/team-a/x"], /ACTION "s3:Get\*" is a pattern: a request is one action/],
            [["s3:GetObjekt", "s3://ckpt/team-a/x"], /ACTION "s3:GetObjekt" is not an action of s3 in IAM's catalog \(did you mean s3:GetObject\?\)/],
            [["GetObject", "s3://ckpt/team-a/x"], /ACTION "GetObject" is not SERVICE:ACTION/],
            [["s4:GetObject", "s3://ckpt/team-a/x"], /"s4" is not a service prefix in IAM's catalog/],
            [
                ["s3:ListBucket", "s3://ckpt/team-a/x"],
                /s3:ListBucket acts on .*arn:\$\{Partition\}:s3:::\$\{BucketName\}, and RESOURCE arn:aws:s3:::ckpt\/team-a\/x is not one: give the bucket/,
            ],
            [["s3:GetObject", "s3://ckpt"], /s3:GetObject acts on .*\$\{BucketName\}\/\$\{ObjectName\}, and RESOURCE arn:aws:s3:::ckpt is not one/],
            [["ec2:RunInstances", "s3://ckpt/team-a/x"], /ec2:RunInstances acts on .* \(or \d+ more types\), and RESOURCE/],
            [["s3:GetObject", "s3://ckpt/team-a/x", "--prefix", "team-a/"], /--prefix is the s3:prefix of s3:ListBucket; s3:GetObject has none/],
            [["s3:GetObject", "s3://ckpt/team-a/x", "--session-mode", "ReadOnly"], /--session-mode is the s3express:SessionMode of s3express:CreateSession/],
        ];
        for (const [request, message] of refused) {
            const { code, stdout, stderr } = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--tenant", "team-a", ...request]);
            assert.equal(code, 2, `${request.join(" ")}: ${stdout}${stderr}`);
            assert.match(stderr, message);
            assert.equal(stdout, "");
        }
        // IAM's action names are case-insensitive: the answer names the action as the catalog spells it.
        const lower = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--tenant", "team-a", "s3:getobject", "s3://shared-ckpt/team-a/x", "--json"]);
        assert.equal(lower.code, 0, lower.stderr);
        assert.equal(JSON.parse(lower.stdout).request.action, "s3:GetObject");
        // An object key may hold ":" and "/", a role name its path: both are requests a client makes.
        const colon = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--tenant", "team-a", "s3:GetObject", "s3://shared-ckpt/team-a/run:1/x"]);
        assert.equal(colon.code, 0, colon.stderr);
        const assume = await runCli([
            "explain",
            "--cwd",
            dir,
            "--stack",
            "dev",
            "--tenant",
            "team-a",
            "sts:AssumeRole",
            "arn:aws:iam::111122223333:role/team/assets",
        ]);
        assert.equal(assume.code, 1, assume.stderr);
        assert.match(assume.stdout, /denied: no statement .* allows sts:AssumeRole on arn:aws:iam::111122223333:role\/team\/assets/);
    });
});

/**
 * `explain --live` against moto: the deployed role's attached policy and permissions boundary and the bucket's policy
 * are read from IAM and S3 as they are, and the same question goes to IAM's policy simulator. moto has no
 * SimulateCustomPolicy: a stand-in answers it with the independent evaluator (iam-simulate) from the very inputs the
 * runner sends, so agreement is a real check of what is sent; a disagreement and a simulator that does not answer are
 * shown as such.
 */
import { CreatePolicyCommand, CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from "@aws-sdk/client-s3";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackDriver } from "../../automation/driver";
import { VerifyClients } from "../../automation/verify";
import { buildIrsaTrustPolicy } from "../../components/trustPolicy";
import { buildS3PermissionsPolicy } from "../../components/s3Policy";
import { runCli } from "../support/cli";
import { oracleDecision } from "../support/iamOracle";
import { MotoServer, startMoto, attachNewPolicy } from "../support/moto";

const ACCOUNT = "123456789012";
const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC`;

/** SimulateCustomPolicy as IAM answers it, decided by iam-simulate from the command's own inputs. */
function withSimulator(iam: IAMClient, override?: string): { send(command: any): Promise<any>; inputs: any[] } {
    const inputs: any[] = [];
    return {
        inputs,
        send: async (command: any) => {
            if (command.constructor.name !== "SimulateCustomPolicyCommand") return iam.send(command);
            const input = command.input;
            inputs.push(input);
            const context = Object.fromEntries((input.ContextEntries ?? []).map((e: any) => [e.ContextKeyName, e.ContextKeyValues[0]]));
            const request = {
                action: input.ActionNames[0],
                resource: input.ResourceArns[0],
                principal: { kind: "AWS" as const, value: input.CallerArn ?? `arn:aws:iam::${ACCOUNT}:role/caller` },
                context,
            };
            const identity = input.PolicyInputList.map((p: string) => oracleDecision(JSON.parse(p), "identity", request));
            const boundary = (input.PermissionsBoundaryPolicyInputList ?? []).map((p: string) => oracleDecision(JSON.parse(p), "identity", request));
            const resource = input.ResourcePolicy ? [oracleDecision(JSON.parse(input.ResourcePolicy), "resource", request)] : [];
            const all = [...identity, ...boundary, ...resource];
            const decision = all.includes("ExplicitDeny")
                ? "explicitDeny"
                : (identity.includes("Allow") || resource.includes("Allow")) && boundary.every((d: string) => d === "Allow")
                  ? "allowed"
                  : "implicitDeny";
            return { EvaluationResults: [{ EvalActionName: request.action, EvalResourceName: request.resource, EvalDecision: override ?? decision }] };
        },
    };
}

describe("explain --live against moto", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let iam: IAMClient;
    let s3: S3Client;
    let dir: string;
    let roleArn: string;

    before(async () => {
        moto = await startMoto();
        const config = { endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials };
        iam = new IAMClient(config);
        s3 = new S3Client({ ...config, forcePathStyle: true });
        await moto.reset();
        // What `up` left, with a permissions boundary and a bucket policy from outside the stack.
        const boundary = await iam.send(
            new CreatePolicyCommand({
                PolicyName: "org-boundary",
                PolicyDocument: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "Everything", Effect: "Allow", Action: "s3:*", Resource: "*" },
                        { Sid: "NoDeletes", Effect: "Deny", Action: "s3:DeleteObject", Resource: "*" },
                    ],
                }),
            }),
        );
        const role = await iam.send(
            new CreateRoleCommand({
                RoleName: "team-a-role-5f3e2a1",
                AssumeRolePolicyDocument: JSON.stringify(buildIrsaTrustPolicy(PROVIDER_ARN, [{ namespace: "team-a", name: "ray-s3-sa" }])),
                PermissionsBoundary: boundary.Policy!.Arn!,
            }),
        );
        roleArn = role.Role!.Arn!;
        await attachNewPolicy(
            iam,
            "team-a-role-5f3e2a1",
            "team-a-policy-5f3e2a1",
            buildS3PermissionsPolicy("aws", [{ bucket: "shared-ckpt", access: "readWrite", prefixes: ["team-a/"], kmsKeyArns: [] }]),
        );
        await s3.send(new CreateBucketCommand({ Bucket: "shared-ckpt" }));
        await s3.send(
            new PutBucketPolicyCommand({
                Bucket: "shared-ckpt",
                Policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "NoSecrets", Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::shared-ckpt/team-a/secret/*" },
                    ],
                }),
            }),
        );
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "explain-live-"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            `config:\n  aws:region: ${moto.region}\n  ray-s3-access:oidcProviderArn: ${PROVIDER_ARN}\n  ray-s3-access:tenants:\n    - namespace: team-a\n      buckets: [{ bucket: shared-ckpt, prefixes: ["team-a/"] }]\n`,
        );
    });
    after(async () => moto?.stop());

    const driver: StackDriver = {
        prepare: async () => undefined,
        run: async () => ({ changes: {}, outputs: { tenants: { "team-a": { roleArn } } } }),
    };
    const live = async (simulator: { send(command: any): Promise<any> }, ...args: string[]) => {
        const clients = (): VerifyClients => ({ iam: simulator, eks: { send: async () => ({}) }, s3 });
        const { code, stdout, stderr } = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--tenant", "team-a", "--live", "--json", ...args], {
            driver: () => driver,
            verifyClients: clients,
        });
        assert.ok(code === 0 || code === 1, stderr + stdout);
        return { code, answer: JSON.parse(stdout) };
    };

    it("reads the deployed role's policy and boundary and the bucket's policy; IAM's simulator, asked the same, agrees", async () => {
        const simulator = withSimulator(iam);
        const put = await live(simulator, "s3:PutObject", "s3://shared-ckpt/team-a/model.pt");
        assert.equal(put.code, 0, put.answer.reason);
        assert.equal(put.answer.request.principal, roleArn, "the deployed role, not the rendered name");
        assert.match(
            put.answer.reason,
            /^allowed: attached policy arn:aws:iam::\d+:policy\/team-a-policy-5f3e2a1, statement ReadWriteObjectsSharedCkpt, within permissions boundary arn:aws:iam::\d+:policy\/org-boundary/,
        );
        assert.deepEqual(put.answer.simulator, { decision: "allowed", agrees: true });
        const sent = simulator.inputs[0];
        assert.equal(sent.PermissionsBoundaryPolicyInputList.length, 1, "the boundary goes to the simulator as a boundary");
        assert.ok(sent.ResourcePolicy.includes("NoSecrets"), "and the bucket's policy as the resource policy");

        const deleted = await live(simulator, "s3:DeleteObject", "s3://shared-ckpt/team-a/model.pt");
        assert.equal(deleted.code, 1);
        assert.match(deleted.answer.reason, /^denied: permissions boundary .*org-boundary, statement NoDeletes, denies it/);
        assert.deepEqual(deleted.answer.simulator, { decision: "explicitDeny", agrees: true });

        const secret = await live(simulator, "s3:GetObject", "s3://shared-ckpt/team-a/secret/key.pem");
        assert.equal(secret.code, 1);
        assert.match(secret.answer.reason, /^denied: bucket policy of shared-ckpt, statement NoSecrets, denies it/);
        assert.equal(secret.answer.simulator.agrees, true);

        const other = await live(simulator, "s3:GetObject", "s3://shared-ckpt/team-b/x");
        assert.match(other.answer.reason, /implicit deny/);
        assert.deepEqual(other.answer.simulator, { decision: "implicitDeny", agrees: true });
    });

    it("a disagreement is reported, and a simulator that does not answer is said so", async () => {
        const wrong = await live(withSimulator(iam, "allowed"), "s3:GetObject", "s3://shared-ckpt/team-b/x");
        assert.equal(wrong.code, 1, "our answer stands");
        assert.deepEqual(wrong.answer.simulator, { decision: "allowed", agrees: false });
        const text = await runCli(["explain", "--cwd", dir, "--stack", "dev", "--tenant", "team-a", "--live", "s3:GetObject", "s3://shared-ckpt/team-b/x"], {
            driver: () => driver,
            verifyClients: () => ({ iam: withSimulator(iam, "allowed"), eks: { send: async () => ({}) }, s3 }),
        });
        assert.match(text.stdout, /IAM's policy simulator: allowed \(DISAGREES/);
        // moto itself has no SimulateCustomPolicy.
        const silent = await live(iam, "s3:GetObject", "s3://shared-ckpt/team-a/x");
        assert.equal(silent.code, 0);
        assert.match(silent.answer.simulator.note, /^IAM's policy simulator did not answer: /);
    });
});

/**
 * Buckets in another account: the assets role there, and the IAM client that reaches it.
 */
import { chainActions, ChainOptions } from "../../components/crossAccount";
import { PolicyDocument } from "../../components/s3Policy";
import { allowStatements } from "../../policies/lib/documents";
import { AssumeRequest, trustAdmitsRequest } from "../../policies/lib/trust";
import { TenantConfig } from "../../programs/config";
import { Sender, VerifyClients, PROBE, decode, arnParts, RoleGroupUnderTest, Recorder, getRole, attachedPolicyMatches, listOf } from "./shared";

/** The assets role in the buckets' account: exists, trusts only the workload role, holds the S3 policy. */
export async function verifyAssetsRole(
    stack: string,
    group: RoleGroupUnderTest,
    tenant: TenantConfig,
    chain: ChainOptions,
    s3Policy: PolicyDocument,
    clients: VerifyClients,
    out: Recorder,
): Promise<void> {
    const label = group.label;
    if (!group.assetsRoleArn) {
        out.add(
            label,
            "assets-role",
            false,
            `stack ${stack} exports no assets role for tenant ${tenant.namespace}`,
            `run \`ray-s3-access up --stack ${stack}\``,
        );
        return;
    }
    if (!clients.assetsIam) {
        out.add(
            label,
            "assets-role",
            false,
            `no credentials for the buckets' account to check ${group.assetsRoleArn}`,
            `make ${tenant.assetsDeployRoleArn} assumable from your credentials`,
        );
        return;
    }
    const iam = await clients.assetsIam(tenant.assetsDeployRoleArn!);
    const { name, account, partition } = arnParts(group.assetsRoleArn);
    const role = await getRole(iam, name);
    if (
        !out.add(
            label,
            "assets-role",
            !!role,
            role ? `assets role ${group.assetsRoleArn} exists` : `assets role ${group.assetsRoleArn} does not exist`,
            `run \`ray-s3-access up --stack ${stack}\``,
        )
    )
        return;
    const trust = decode(role.AssumeRolePolicyDocument);
    const actions = [chainActions(chain)].flat();
    // IRSA's profile passes assetsExternalId; Pod Identity passes each association's own id, which the trust lists.
    const listed = allowStatements(trust).flatMap((st) => st.conditions.filter((c) => c.key.toLowerCase() === "sts:externalid").flatMap((c) => c.values));
    const requiresId = chain.externalId !== undefined;
    const externalId: string | undefined = typeof chain.externalId === "string" ? chain.externalId : listed[0];
    const from = (principal: string, withExternalId = true): AssumeRequest => ({
        principal: { kind: "AWS", value: principal },
        actions,
        context: externalId && withExternalId ? { "sts:ExternalId": externalId } : {},
    });
    const workloadAccount = arnParts(group.roleArn).account;
    const otherAccount = [workloadAccount, account].includes("111111111111") ? "222222222222" : "111111111111";
    const admitsWorkload = trustAdmitsRequest(trust, from(group.roleArn));
    const intruders: [string, AssumeRequest][] = [
        [`another role of the workload's account`, from(`arn:${partition}:iam::${workloadAccount}:role/${PROBE}`)],
        [`another role of the buckets' account`, from(`arn:${partition}:iam::${account}:role/${PROBE}`)],
        [`a role of another account`, from(`arn:${partition}:iam::${otherAccount}:role/${PROBE}`)],
        ...(requiresId ? ([[`the workload role without the external id`, from(group.roleArn, false)]] as [string, AssumeRequest][]) : []),
    ];
    const admitted = intruders.filter(([, r]) => trustAdmitsRequest(trust, r)).map(([who]) => who);
    out.add(
        label,
        "assets-trust",
        admitsWorkload && admitted.length === 0,
        admitsWorkload && admitted.length === 0
            ? `the assets role trusts only the workload role ${group.roleArn}${requiresId ? " (with the external id)" : ""}`
            : `the assets role's trust ${[...(admitsWorkload ? [] : [`does not admit the workload role ${group.roleArn}`]), ...(admitted.length ? [`also admits ${listOf(admitted)}`] : [])].join(" and ")}`,
        `the trust was changed outside the stack: run \`ray-s3-access up --stack ${stack}\` to restore it`,
    );
    const { matching, attached } = await attachedPolicyMatches(iam, name, s3Policy);
    out.add(
        label,
        "assets-permissions",
        matching,
        matching
            ? "the assets role's S3 policy matches the stack's"
            : `no policy attached to the assets role matches the stack's S3 policy (${attached} attached)`,
        `the policy was edited or detached outside the stack: run \`ray-s3-access up --stack ${stack}\``,
    );
}

/**
 * `VerifyClients.assetsIam` from STS: assumes the role the program deploys the assets account with (read-only
 * calls only follow) and builds an IAM client with those credentials.
 */
export function assetsIamThrough(
    sts: Sender,
    makeIam: (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string }) => Sender,
): (deployRoleArn: string) => Promise<Sender> {
    const cache = new Map<string, Promise<Sender>>();
    return (deployRoleArn) => {
        if (!cache.has(deployRoleArn)) {
            cache.set(
                deployRoleArn,
                (async () => {
                    const { AssumeRoleCommand } = await import("@aws-sdk/client-sts");
                    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: deployRoleArn, RoleSessionName: "ray-s3-access-verify" }))).Credentials;
                    return makeIam({ accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken });
                })(),
            );
        }
        return cache.get(deployRoleArn)!;
    };
}

/**
 * `explain --live`: the tenant's session documents as AWS has them (the deployed role's attached and inline policies,
 * its permissions boundary, the bucket's policy), read with verify's clients, then the same decision; and the same
 * question asked of IAM's own policy simulator (SimulateCustomPolicy), a disagreement reported, not hidden.
 */
import {
    GetRoleCommand,
    GetRolePolicyCommand,
    ListAttachedRolePoliciesCommand,
    ListRolePoliciesCommand,
    SimulateCustomPolicyCommand,
} from "@aws-sdk/client-iam";
import { GetBucketPolicyCommand } from "@aws-sdk/client-s3";
import { ExplainAnswer, ExplainQuestion, resourceArn, SessionDocument, SessionDocuments } from "./explain";
import { decode, managedPolicyDocument, Sender } from "./shared";

const message = (error: unknown) => String((error as Error)?.message ?? error).split("\n")[0];

/**
 * The deployed documents of the session `sessionArn` (the tenant's role, or its assets role). The association's session
 * policy and session tags come from `offline` (what the stack gives the association).
 */
export async function liveDocuments(
    clients: { iam: Sender; s3?: Sender },
    sessionArn: string,
    offline: SessionDocuments,
    question: ExplainQuestion,
): Promise<SessionDocuments> {
    const roleName = sessionArn.split("/").pop()!;
    const identity: SessionDocument[] = [];
    const limits: SessionDocument[] = offline.limits.filter((d) => d.name.startsWith("session policy"));
    const attached = (await clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? [];
    for (const policy of attached) {
        identity.push({ name: `attached policy ${policy.PolicyArn}`, policy: await managedPolicyDocument(clients.iam, policy.PolicyArn) });
    }
    const inline = (await clients.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? [];
    for (const name of inline) {
        const got = await clients.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
        identity.push({ name: `inline policy ${name} of role ${roleName}`, policy: decode(got.PolicyDocument) });
    }
    const role = (await clients.iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
    const boundaryArn: string | undefined = role?.PermissionsBoundary?.PermissionsBoundaryArn;
    if (boundaryArn) limits.unshift({ name: `permissions boundary ${boundaryArn}`, policy: await managedPolicyDocument(clients.iam, boundaryArn) });
    const resources: SessionDocument[] = [];
    const bucket = /^arn:[^:]+:s3:::([^/]+)/.exec(resourceArn(question.resource, sessionArn.split(":")[1] || "aws"))?.[1];
    if (bucket !== undefined) {
        if (!clients.s3) resources.push({ name: `bucket policy of ${bucket}`, bucket, note: "no S3 client" });
        else {
            try {
                const got = await clients.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }));
                resources.push({ name: `bucket policy of ${bucket}`, bucket, policy: JSON.parse(got.Policy) });
            } catch (error) {
                const name = (error as { name?: string; Code?: string })?.name ?? (error as { Code?: string })?.Code;
                if (name !== "NoSuchBucketPolicy") resources.push({ name: `bucket policy of ${bucket}`, bucket, note: `could not read it: ${message(error)}` });
            }
        }
    }
    const [, , , , account = ""] = sessionArn.split(":");
    return { sessionArn, context: { ...offline.context, "aws:PrincipalArn": sessionArn, "aws:PrincipalAccount": account }, identity, limits, resources };
}

/** IAM's own answer for the same documents and context, and whether it agrees with ours. */
export interface SimulatorAnswer {
    decision?: "allowed" | "explicitDeny" | "implicitDeny";
    agrees?: boolean;
    /** Why there is no answer, or what the simulator cannot take into account. */
    note?: string;
}

/** Asks IAM's policy simulator (SimulateCustomPolicy) the question our evaluation answered. */
export async function simulate(iam: Sender, documents: SessionDocuments, answer: ExplainAnswer): Promise<SimulatorAnswer> {
    const boundary = documents.limits.filter((d) => d.name.startsWith("permissions boundary") && d.policy !== undefined);
    const bucketPolicy = documents.resources.find((d) => d.policy !== undefined);
    const context = Object.entries(answer.request.context)
        .filter(([key]) => !/^aws:Principal(Arn|Account)$/.test(key))
        .map(([key, value]) => ({ ContextKeyName: key, ContextKeyValues: [value], ContextKeyType: "string" as const }));
    try {
        const result = await iam.send(
            new SimulateCustomPolicyCommand({
                PolicyInputList: documents.identity.filter((d) => d.policy !== undefined).map((d) => JSON.stringify(d.policy)),
                ...(boundary.length ? { PermissionsBoundaryPolicyInputList: boundary.map((d) => JSON.stringify(d.policy)) } : {}),
                ActionNames: [answer.request.action],
                ResourceArns: [answer.request.resource],
                ...(bucketPolicy ? { ResourcePolicy: JSON.stringify(bucketPolicy.policy), CallerArn: answer.request.principal } : {}),
                ContextEntries: context,
            }),
        );
        const decision = result.EvaluationResults?.[0]?.EvalDecision as SimulatorAnswer["decision"];
        const sessionPolicy = documents.limits.some((d) => d.name.startsWith("session policy"));
        return {
            decision,
            agrees: decision === undefined ? undefined : (decision === "allowed") === answer.allowed,
            ...(sessionPolicy ? { note: "the simulator takes no session policy: it judges the role's documents alone" } : {}),
        };
    } catch (error) {
        return { note: `IAM's policy simulator did not answer: ${message(error)}` };
    }
}

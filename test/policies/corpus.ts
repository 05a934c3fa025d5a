/**
 * Public IAM documents, each with the pack's verdict and the reason, in IAM terms. Sources: the AWS IAM and
 * S3 user guides' example policies, the EKS user guide's trust policies, GitHub's and GitLab's OIDC guides,
 * AWS managed policies (as published), and the shapes the peers' own fixtures test (checkov, kics,
 * trivy-checks, parliament). `findings` is exact: every policy of the pack not listed reports nothing.
 */
export interface CorpusCase {
    name: string;
    source: string;
    /** What carries the document: an IAM policy, a bucket policy, a role's trust, or an attached managed policy ARN. */
    carrier: "identity" | "bucket" | "trust" | "attachment";
    document: object | string;
    /** Default prod. */
    stack?: "prod" | "dev";
    /** Policy name (the `-advisory` half named as such) -> number of findings. */
    findings: Record<string, number>;
    reason: string;
}

const ACCOUNT = "111122223333";
const EKS_ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const doc = (...Statement: object[]) => ({ Version: "2012-10-17", Statement });

const objectReadWrite = doc(
    { Sid: "ListObjectsInBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: ["arn:aws:s3:::bucket-name"] },
    { Sid: "AllObjectActions", Effect: "Allow", Action: "s3:*Object", Resource: ["arn:aws:s3:::bucket-name/*"] },
);

/** The S3 guide's bucket policy statement that delegates to the account's access points, with this operator. */
const delegation = (operator: string) => ({
    Effect: "Allow",
    Principal: { AWS: "*" },
    Action: "*",
    Resource: ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
    Condition: { [operator]: { "s3:DataAccessPointAccount": ACCOUNT } },
});

export const CORPUS: CorpusCase[] = [
    {
        name: "read and write objects in one bucket",
        source: "AWS IAM user guide, example policy 'Amazon S3: Allows read and write access to objects in an S3 bucket'",
        carrier: "identity",
        document: objectReadWrite,
        findings: {},
        reason: "s3:*Object names object actions only (GetObject, PutObject, DeleteObject, ...), none of them admin ones, on one bucket's objects.",
    },
    {
        name: "read and write objects, with console access",
        source: "AWS IAM user guide, 'Allows read and write access to objects in an S3 bucket, programmatically and in the console'",
        carrier: "identity",
        document: doc(
            {
                Sid: "ConsoleAccess",
                Effect: "Allow",
                Action: [
                    "s3:GetAccountPublicAccessBlock",
                    "s3:GetBucketAcl",
                    "s3:GetBucketLocation",
                    "s3:GetBucketPolicyStatus",
                    "s3:GetBucketPublicAccessBlock",
                    "s3:ListAccessPoints",
                    "s3:ListAllMyBuckets",
                ],
                Resource: "*",
            },
            ...objectReadWrite.Statement,
        ),
        findings: { "no-bucket-admin-for-workloads": 1 },
        reason:
            "GetBucketAcl, GetBucketLocation, GetBucketPolicyStatus and GetBucketPublicAccessBlock have the bucket resource type and are granted on every bucket; " +
            "GetAccountPublicAccessBlock, ListAccessPoints and ListAllMyBuckets have no resource type, so * is what IAM requires for them.",
    },
    {
        name: "list every bucket",
        source: "AWS S3 user guide, ListAllMyBuckets example; trivy-checks' and kics' s3 wildcard fixtures flag it",
        carrier: "identity",
        document: doc({ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }),
        findings: {},
        reason: "s3:ListAllMyBuckets has no resource type: IAM accepts it only on Resource *, so * here is not a wildcard grant.",
    },
    {
        name: "AmazonS3FullAccess, inline",
        source: "AWS managed policy AmazonS3FullAccess v2, as published",
        carrier: "identity",
        document: doc({ Effect: "Allow", Action: ["s3:*", "s3-object-lambda:*"], Resource: "*" }),
        findings: { "no-s3-wildcard-in-production": 1, "no-bucket-admin-for-workloads": 2 },
        reason: "s3:* on *: every S3 action; among them the bucket-admin actions, and bucket actions on every bucket.",
    },
    {
        name: "AdministratorAccess, inline",
        source: "AWS managed policy AdministratorAccess, as published",
        carrier: "identity",
        document: doc({ Effect: "Allow", Action: "*", Resource: "*" }),
        findings: { "no-s3-wildcard-in-production": 1, "no-bucket-admin-for-workloads": 2 },
        reason: "* on * includes every S3 action on every resource.",
    },
    {
        name: "PowerUserAccess, inline",
        source: "AWS managed policy PowerUserAccess, as published",
        carrier: "identity",
        document: doc(
            { Effect: "Allow", NotAction: ["iam:*", "organizations:*", "account:*"], Resource: "*" },
            {
                Effect: "Allow",
                Action: ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles", "organizations:DescribeOrganization"],
                Resource: "*",
            },
        ),
        findings: { "no-s3-wildcard-in-production": 1, "no-bucket-admin-for-workloads": 2 },
        reason: "NotAction that excepts only IAM, Organizations and Account leaves every S3 action in, on *.",
    },
    {
        name: "s3:* on one bucket's objects",
        source: "checkov CKV_AWS_355 / kics 'IAM policy grants full S3 permissions' fixtures",
        carrier: "identity",
        document: doc({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::example/*" }),
        findings: { "no-s3-wildcard-in-production": 1, "no-bucket-admin-for-workloads": 1 },
        reason: "s3:* on object ARNs grants every object action there, among them PutObjectAcl, PutObjectRetention and BypassGovernanceRetention; not the bucket actions, which cannot apply to objects.",
    },
    {
        name: "the same in development",
        source: "as above",
        carrier: "identity",
        stack: "dev",
        document: doc({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::example/*" }),
        findings: { "no-bucket-admin-for-workloads-advisory": 1 },
        reason: "no-s3-wildcard-in-production is not applicable outside production; bucket-admin findings are advisory there.",
    },
    {
        name: "every action, but only on a managed policy ARN",
        source: "parliament's RESOURCE_MISMATCH fixtures; the pack's own false positive, reported in its issue",
        carrier: "identity",
        document: doc({ Effect: "Allow", Action: "*", Resource: "arn:aws:iam::aws:policy/AdministratorAccess" }),
        findings: {},
        reason: "No S3 action can apply to an IAM policy ARN, so the statement grants nothing on S3.",
    },
    {
        name: "an object action on a bucket ARN",
        source: "parliament's RESOURCE_MISMATCH fixture (s3:GetObject on arn:aws:s3:::bucket)",
        carrier: "identity",
        document: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket" }),
        findings: {},
        reason: "GetObject applies to objects (and access point objects); a bucket ARN names neither, so nothing is granted.",
    },
    {
        name: "s3:* taken back by a Deny of s3:*",
        source: "trivy-checks' and checkov's Deny fixtures (an Allow overridden in the same document)",
        carrier: "identity",
        document: doc({ Effect: "Allow", Action: "s3:*", Resource: "*" }, { Effect: "Deny", Action: "s3:*", Resource: "*" }),
        findings: {},
        reason: "An explicit Deny on the same actions and resources overrides the Allow: the document grants nothing.",
    },
    {
        name: "PutBucketPolicy taken back by a wider Deny",
        source: "AWS IAM user guide, policy evaluation logic (explicit deny)",
        carrier: "identity",
        document: doc(
            { Effect: "Allow", Action: ["s3:PutBucketPolicy", "s3:ListBucket"], Resource: "arn:aws:s3:::bucket-name" },
            { Effect: "Deny", Action: "s3:Put*", Resource: "*" },
        ),
        findings: {},
        reason: "s3:Put* on * denies PutBucketPolicy everywhere; ListBucket on one bucket is what a workload needs.",
    },
    {
        name: "s3:* everywhere, denied outside one bucket",
        source: "AWS IAM user guide, 'Denies access to S3 except for one bucket' pattern (Deny with NotResource)",
        carrier: "identity",
        document: doc(
            { Effect: "Allow", Action: "s3:*", Resource: "*" },
            { Effect: "Deny", Action: "s3:*", NotResource: ["arn:aws:s3:::bucket-name", "arn:aws:s3:::bucket-name/*"] },
        ),
        findings: { "no-s3-wildcard-in-production": 1, "no-bucket-admin-for-workloads": 1 },
        reason: "Only bucket-name and its objects are left, but every S3 action is granted there (reported on arn:aws:s3:::bucket-name), among them its bucket policy; nothing on other buckets.",
    },
    {
        name: "an Allow with a conditional Deny",
        source: "AWS S3 user guide, 'Deny requests that are not over HTTPS' (aws:SecureTransport)",
        carrier: "identity",
        document: doc(
            { Effect: "Allow", Action: "s3:*", Resource: "*" },
            { Effect: "Deny", Action: "s3:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ),
        findings: { "no-s3-wildcard-in-production": 1, "no-bucket-admin-for-workloads": 2 },
        reason: "The Deny applies only to plain-HTTP requests; over HTTPS the Allow of s3:* on * stands.",
    },
    {
        name: "NotAction that leaves most of S3 in",
        source: "kics 'NotAction with Allow' fixture",
        carrier: "identity",
        document: doc({ Effect: "Allow", NotAction: "s3:DeleteBucket", Resource: "*" }),
        findings: { "no-bucket-admin-for-workloads": 2, "no-s3-wildcard-in-production": 1 },
        reason: "Every S3 action but DeleteBucket: not every S3 action, but PutBucketPolicy and the other admin actions, on every bucket; and it leaves every S3 Express (directory bucket) action in, on *.",
    },
    {
        name: "public read bucket policy",
        source: "AWS S3 user guide, 'Granting read-only permission to a public anonymous user'",
        carrier: "bucket",
        document: doc({
            Sid: "PublicRead",
            Effect: "Allow",
            Principal: "*",
            Action: ["s3:GetObject", "s3:GetObjectVersion"],
            Resource: ["arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
        }),
        findings: {},
        reason: "Not every S3 action, and bucket policies are not workload identity policies; public access is S3 Block Public Access's business, not this pack's.",
    },
    {
        name: "bucket policy that grants s3:* to an account",
        source: "checkov CKV_AWS_70-style fixture (bucket policy with s3:*)",
        carrier: "bucket",
        document: doc({
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
            Action: "s3:*",
            Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        }),
        findings: { "no-s3-wildcard-in-production": 1 },
        reason: "s3:* on the bucket and its objects grants every S3 action that can apply to them.",
    },
    {
        name: "bucket policy that delegates access control to access points",
        source: "AWS S3 user guide, 'Delegating access control to access points'",
        carrier: "bucket",
        document: doc(delegation("StringEquals")),
        findings: {},
        reason: "Every action for anyone, but only for requests made through an access point of the account (the key is absent from direct requests): the access points' policies grant, this statement only delegates.",
    },
    {
        name: "the same delegation with StringEqualsIfExists",
        source: "a variant of the S3 user guide's delegation (IfExists)",
        carrier: "bucket",
        document: doc(delegation("StringEqualsIfExists")),
        findings: { "no-s3-wildcard-in-production": 1 },
        reason: "IfExists passes a request without the key, so every direct request gets in: s3:* on the bucket and its objects for anyone.",
    },
    {
        name: "IRSA trust as the EKS user guide writes it",
        source: "Amazon EKS user guide, 'Assign IAM roles to Kubernetes service accounts'",
        carrier: "trust",
        document: doc({
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${EKS_ISSUER}` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: { [`${EKS_ISSUER}:sub`]: "system:serviceaccount:default:my-service-account", [`${EKS_ISSUER}:aud`]: "sts.amazonaws.com" },
            },
        }),
        findings: {},
        reason: "One service account, the STS audience, the provider's own keys.",
    },
    {
        name: "IRSA trust for every service account",
        source: "blog posts' 'system:serviceaccount:*:*' shortcut; checkov CKV_AWS_358's EKS counterpart",
        carrier: "trust",
        document: doc({
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${EKS_ISSUER}` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { [`${EKS_ISSUER}:aud`]: "sts.amazonaws.com" }, StringLike: { [`${EKS_ISSUER}:sub`]: "system:serviceaccount:*:*" } },
        }),
        findings: { "irsa-trust-pinned": 1 },
        reason: "Every pod of the cluster, whatever its service account, can assume the role: mandatory in production.",
    },
    {
        name: "GitHub Actions trust as GitHub documents it",
        source: "GitHub docs, 'Configuring OpenID Connect in Amazon Web Services'",
        carrier: "trust",
        document: doc({
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
                StringLike: { "token.actions.githubusercontent.com:sub": "repo:octo-org/octo-repo:*" },
            },
        }),
        findings: {},
        reason: "One repository (any of its refs), the STS audience.",
    },
    {
        name: "GitHub Actions trust without a subject",
        source: "checkov CKV_AWS_358 fixture (GitHub OIDC without sub)",
        carrier: "trust",
        document: doc({
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } },
        }),
        findings: { "irsa-trust-pinned": 1 },
        reason: "Any workflow in any GitHub repository gets a token with this audience, so anyone on GitHub can assume the role.",
    },
    {
        name: "GitHub Actions trust for repo:*",
        source: "checkov CKV_AWS_358 fixture (wildcard sub)",
        carrier: "trust",
        document: doc({
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
                StringLike: { "token.actions.githubusercontent.com:sub": "repo:*" },
            },
        }),
        findings: { "irsa-trust-pinned": 1 },
        reason: "repo:* matches every owner's repositories.",
    },
    {
        name: "GitLab trust as GitLab documents it",
        source: "GitLab docs, 'Configure OpenID Connect in AWS to retrieve temporary credentials'",
        carrier: "trust",
        document: doc({
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/gitlab.com` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: { "gitlab.com:sub": "project_path:mygroup/myproject:ref_type:branch:ref:main", "gitlab.com:aud": "https://gitlab.com" },
            },
        }),
        findings: {},
        reason: "One project's main branch, the audience the job's id_token carries.",
    },
    {
        name: "Pod Identity trust as the EKS user guide first shows it",
        source: "Amazon EKS user guide, 'Create an IAM role for EKS Pod Identity' (the minimal trust)",
        carrier: "trust",
        document: doc({ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }),
        findings: { "trust-principals-pinned": 1, "trust-principals-pinned-advisory": 1 },
        reason: "Anyone who can create a Pod Identity association in the account, for any cluster, can use the role: pin the cluster and aws:SourceAccount.",
    },
    {
        name: "Pod Identity trust without sts:TagSession",
        source: "a common mistake (AssumeRole only), the EKS user guide's troubleshooting",
        carrier: "trust",
        document: doc({ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: "sts:AssumeRole" }),
        findings: { "trust-principals-pinned": 2, "trust-principals-pinned-advisory": 1 },
        reason: "EKS Pod Identity tags the session, so without sts:TagSession the association cannot use the role; the pins are missing too.",
    },
    {
        name: "trust for any AWS principal",
        source: "kics 'IAM role allows all principals to assume' fixture",
        carrier: "trust",
        document: doc({ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }),
        findings: { "trust-principals-pinned": 1 },
        reason: "Principal * with no condition: any AWS account can assume the role.",
    },
    {
        name: "trust for any principal of the organization",
        source: "AWS IAM user guide, aws:PrincipalOrgID example",
        carrier: "trust",
        document: doc({
            Effect: "Allow",
            Principal: { AWS: "*" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } },
        }),
        findings: {},
        reason: "aws:PrincipalOrgID limits who * can be.",
    },
    {
        name: "a statement with both Action and NotAction",
        source: "parliament's MALFORMED fixture",
        carrier: "identity",
        document: doc({ Effect: "Allow", Action: "s3:*", NotAction: "s3:DeleteBucket", Resource: "*" }),
        findings: { "iam-statements-well-formed": 1 },
        reason: "IAM refuses the document; it grants nothing, so no other rule judges it.",
    },
    {
        name: "a statement with no Resource",
        source: "kics 'Missing Resource' fixture",
        carrier: "identity",
        document: doc({ Effect: "Allow", Action: "s3:GetObject" }),
        findings: { "iam-statements-well-formed": 1 },
        reason: "Identity policies need Resource or NotResource: IAM refuses the document.",
    },
    {
        name: "a statement with no Effect",
        source: "parliament's MALFORMED fixture",
        carrier: "identity",
        document: doc({ Action: "s3:*", Resource: "*" }),
        findings: { "iam-statements-well-formed": 1 },
        reason: "Effect is required: IAM refuses the document.",
    },
    {
        name: "AmazonElasticMapReduceforEC2Role attached",
        source: "AWS managed policy service-role/AmazonElasticMapReduceforEC2Role (s3:* on *), as published",
        carrier: "attachment",
        document: "arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceforEC2Role",
        findings: { "no-s3-wildcard-in-production": 1, "no-bucket-admin-for-workloads": 1 },
        reason: "The generated list, from every AWS managed policy's published document, has it granting every S3 action and bucket-admin actions.",
    },
    {
        name: "AmazonS3ReadOnlyAccess attached",
        source: "AWS managed policy AmazonS3ReadOnlyAccess, as published",
        carrier: "attachment",
        document: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        findings: {},
        reason: "s3:Get* and s3:List*: neither every S3 action nor admin ones. (Read on every bucket is allowed for managed policies; name buckets in your own.)",
    },
];

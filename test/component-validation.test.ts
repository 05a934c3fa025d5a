import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { RayS3Access, RayS3AccessArgs } from "../components";
import { resetMocks, settle, useStack, valueOf, world } from "./support/mocks";

const PROVIDER_ARN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123";
const base: RayS3AccessArgs = { namespace: "ray", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: "ckpt-bucket" }] };

/** Asserts construction throws before anything is registered, with a message matching every pattern. */
function rejects(args: any, ...patterns: RegExp[]): string {
    resetMocks();
    let message = "";
    assert.throws(
        () => new RayS3Access("bad", args),
        (error: Error) => {
            message = error.message;
            return error.name === "RayS3AccessValidationError";
        },
    );
    for (const pattern of patterns) {
        assert.match(message, pattern);
    }
    assert.equal(world.resources.length, 0, "nothing may be registered for invalid input");
    return message;
}

describe("RayS3Access input validation", () => {
    beforeEach(() => useStack("dev"));

    it("namespace must be a DNS-1123 label, named in the message with the rule", () => {
        rejects({ ...base, namespace: "Bad_NS" }, /namespace "Bad_NS" is not a valid Kubernetes namespace name: it must be a DNS-1123 label/);
        rejects({ ...base, namespace: "a".repeat(64) }, /at most 63/);
        rejects({ ...base, namespace: undefined }, /namespace is required/);
    });

    it("serviceAccountName must be a DNS-1123 subdomain", () => {
        rejects({ ...base, serviceAccountName: "Ray_SA" }, /serviceAccountName "Ray_SA" is not a valid Kubernetes ServiceAccount name/);
    });

    it("bucket names: no s3:// URL, no path, no upper case or underscore, not an IP", () => {
        rejects(
            { ...base, buckets: [{ bucket: "s3://ckpt-bucket/data" }] },
            /buckets\[0\]\.bucket "s3:\/\/ckpt-bucket\/data" is an S3 URL.*give the bare name \("ckpt-bucket"\)/,
        );
        rejects({ ...base, buckets: [{ bucket: "ckpt-bucket/data" }] }, /contains "\/"/);
        rejects({ ...base, buckets: [{ bucket: "Ckpt_Bucket" }] }, /buckets\[0\]\.bucket "Ckpt_Bucket" is not a valid S3 bucket name.*no upper case, no "_"/);
        rejects({ ...base, buckets: [{ bucket: "192.168.1.1" }] }, /not an IP address/);
        rejects({ ...base, buckets: [{ bucket: "arn:aws:s3:::a/b" }] }, /is not an S3 bucket ARN/);
    });

    it("bucket ARNs are accepted in any partition and reduced to the name", async () => {
        resetMocks();
        world.partition = "aws-us-gov";
        const c = new RayS3Access("ok", { namespace: "ray", clusterName: "gov", buckets: [{ bucket: "arn:aws-us-gov:s3:::gov-data" }] });
        const policy = JSON.parse(await valueOf(c.permissionsPolicy));
        await settle();
        assert.ok(policy.Statement.some((s: any) => s.Resource === "arn:aws-us-gov:s3:::gov-data"));
    });

    it("ARNs from different partitions cannot be mixed", () => {
        rejects(
            { ...base, buckets: [{ bucket: "arn:aws-cn:s3:::cn-data" }] },
            /buckets\[0\]\.bucket "arn:aws-cn:s3:::cn-data" is in partition "aws-cn" but oidcProviderArn is in "aws"/,
        );
    });

    it("empty and duplicate buckets", () => {
        rejects({ ...base, buckets: [] }, /buckets is empty: give at least one bucket/);
        rejects({ ...base, buckets: undefined }, /buckets is empty/);
        rejects({ ...base, buckets: [{ bucket: "a-bucket" }, { bucket: "arn:aws:s3:::a-bucket" }] }, /buckets\[1\]\.bucket "a-bucket" repeats buckets\[0\]/);
    });

    it("prefixes: no wildcards, no leading slash, not empty", () => {
        rejects({ ...base, buckets: [{ bucket: "b-1", prefixes: ["data/*"] }] }, /buckets\[0\]\.prefixes\[0\] "data\/\*" contains a wildcard/);
        rejects({ ...base, buckets: [{ bucket: "b-1", prefixes: ["da?a/"] }] }, /contains a wildcard/);
        rejects({ ...base, buckets: [{ bucket: "b-1", prefixes: ["/data/"] }] }, /starts with "\/".*use "data\/"/);
        rejects({ ...base, buckets: [{ bucket: "b-1", prefixes: [""] }] }, /prefixes\[0\] is empty/);
    });

    it("unknown identity, access and manageServiceAccount values", () => {
        rejects({ ...base, identity: "irsa2" }, /identity "irsa2" is not one of "irsa", "podIdentity"/);
        rejects({ ...base, buckets: [{ bucket: "b-1", access: "write" }] }, /buckets\[0\]\.access "write" is not one of "read", "readWrite"/);
        rejects({ ...base, manageServiceAccount: "update" }, /manageServiceAccount "update" is not one of "create", "patch", "none"/);
    });

    it("ARNs: OIDC provider, KMS key, permissions boundary, additional policies", () => {
        rejects({ ...base, oidcProviderArn: "oidc.eks.us-west-2.amazonaws.com/id/ABC" }, /oidcProviderArn "oidc\.eks.*" is not an IAM OIDC provider ARN/);
        rejects(
            { ...base, buckets: [{ bucket: "b-1", kmsKeyArns: ["alias/ray"] }] },
            /buckets\[0\]\.kmsKeyArns\[0\] "alias\/ray" is not a KMS key ARN.*not an alias/,
        );
        rejects({ ...base, permissionsBoundaryArn: "arn:aws:iam::1:role/x" }, /permissionsBoundaryArn "arn:aws:iam::1:role\/x" is not a managed policy ARN/);
        rejects(
            { ...base, additionalPolicyArns: ["AmazonS3ReadOnlyAccess"] },
            /additionalPolicyArns\[0\] "AmazonS3ReadOnlyAccess" is not a managed policy ARN/,
        );
    });

    it("OIDC sources: missing, conflicting, or given for Pod Identity", () => {
        rejects({ namespace: "ray", buckets: [{ bucket: "b-1" }] }, /no OIDC provider for IRSA: give oidcProviderArn, oidcIssuerUrl, or clusterName/);
        rejects({ ...base, oidcIssuerUrl: "https://oidc.eks.us-west-2.amazonaws.com/id/X" }, /oidcProviderArn and oidcIssuerUrl are both given/);
        rejects({ ...base, createOidcProvider: true }, /createOidcProvider is true but oidcProviderArn names an existing provider/);
        rejects(
            { namespace: "ray", oidcIssuerUrl: "oidc.eks.x/id/1", buckets: [{ bucket: "b-1" }] },
            /oidcIssuerUrl "oidc\.eks\.x\/id\/1" is not an https URL/,
        );
        rejects(
            { identity: "podIdentity", clusterName: "c", namespace: "ray", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: "b-1" }] },
            /oidcProviderArn is only valid when pods use IRSA \(identity "irsa" or "irsaAndPodIdentity"\)/,
        );
        rejects(
            { identity: "podIdentity", clusterName: "c", createOidcProvider: true, namespace: "ray", buckets: [{ bucket: "b-1" }] },
            /createOidcProvider is only valid when pods use IRSA \(identity "irsa" or "irsaAndPodIdentity"\)/,
        );
    });

    it("Pod Identity without clusterName", () => {
        rejects({ identity: "podIdentity", namespace: "ray", buckets: [{ bucket: "b-1" }] }, /clusterName is required when identity is "podIdentity"/);
    });

    it("additionalServiceAccounts must be namespace:name with valid names, and not repeat the primary", () => {
        rejects({ ...base, additionalServiceAccounts: ["just-a-name"] }, /additionalServiceAccounts\[0\] "just-a-name" is not "namespace:name"/);
        rejects({ ...base, additionalServiceAccounts: ["a:b:c"] }, /is not "namespace:name"/);
        rejects(
            { ...base, additionalServiceAccounts: ["Team_A:sa"] },
            /additionalServiceAccounts\[0\] namespace "Team_A" is not a valid Kubernetes namespace name/,
        );
        rejects({ ...base, additionalServiceAccounts: ["ray:ray-s3-sa"] }, /repeats the primary service account "ray:ray-s3-sa"/);
    });

    it("maxSessionDuration outside 3600-43200", () => {
        rejects({ ...base, maxSessionDuration: 900 }, /maxSessionDuration 900 is outside 3600-43200 seconds/);
        rejects({ ...base, maxSessionDuration: 43201 }, /maxSessionDuration 43201 is outside/);
    });

    it("a trust policy over the IAM quota says how long it is and what to do; the caller may raise the quota", () => {
        const many = Array.from({ length: 50 }, (_, i) => `team-${i}:ray-worker`);
        const message = rejects(
            { ...base, additionalServiceAccounts: many },
            /the trust policy would be \d+ characters \(without white space\) for 51 service account\(s\), over the IAM quota of 2048/,
            /fewer service accounts per role/,
            /podIdentity/,
        );
        const length = Number(/would be (\d+) characters/.exec(message)![1]);
        assert.ok(length > 2048);
        resetMocks();
        assert.doesNotThrow(() => new RayS3Access("raised", { ...base, additionalServiceAccounts: many, trustPolicyMaxLength: 4096 }));
    });

    it("a trust policy over the quota is still caught when the namespace arrives as an Output", async () => {
        resetMocks();
        const many = Array.from({ length: 50 }, (_, i) => `team-${i}:ray-worker`);
        const c = new RayS3Access("late", { ...base, namespace: pulumi.output("ray"), additionalServiceAccounts: many });
        await assert.rejects(
            new Promise((resolve, reject) => {
                (c.trustPolicy as any).promise().then(resolve, reject);
            }),
            /over the IAM quota of 2048/,
        );
        // The role's registration fails with the same error (a real deployment stops there); re-arm the engine.
        resetMocks();
    });

    it("reports every problem at once", () => {
        const message = rejects(
            { namespace: "Bad_NS", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: "s3://x" }], maxSessionDuration: 1 },
            /has 3 invalid arguments/,
        );
        assert.match(message, /namespace "Bad_NS"/);
        assert.match(message, /maxSessionDuration 1/);
        // A tag key AWS reserves is a rule about a value of the right type: reported with the others, not instead of them.
        const tagged = rejects(
            { namespace: "Bad_NS", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: "ckpt", prefixes: ["*"] }], tags: { "aws:team": "ml" } },
            /has 3 invalid arguments/,
        );
        assert.match(tagged, /tags key "aws:team" starts with "aws:"/);
        assert.match(tagged, /prefixes\[0\] "\*" contains a wildcard/);
    });
});

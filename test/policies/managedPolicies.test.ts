/**
 * The pack's list of AWS managed policies is generated from the published documents of every AWS managed
 * policy with the pack's own matcher (npm run refresh:managed-policies). Recompute it from the same source data
 * and compare: the shipped list is neither stale nor hand-edited.
 */
import { strict as assert } from "assert";
import {
    BUCKET_ADMIN_MANAGED_POLICIES,
    DIRECTORY_BUCKET_ADMIN_MANAGED_POLICIES,
    MANAGED_POLICY_SOURCE,
    S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES,
    S3_FULL_ACCESS_MANAGED_POLICIES,
} from "../../policies/lib/managedPolicies.generated";
import { classifyManagedPolicies, managedPolicySources } from "../../scripts/managedPolicies";

describe("generated AWS managed policy lists", () => {
    const source = managedPolicySources();

    it("come from the installed source package, all of it", () => {
        assert.equal(MANAGED_POLICY_SOURCE.version, source.version, "the source package changed: run npm run refresh:managed-policies");
        assert.equal(MANAGED_POLICY_SOURCE.policies, source.sources.length);
        assert.equal(MANAGED_POLICY_SOURCE.lastUpdated, source.lastUpdated);
        assert.ok(source.sources.length > 1000);
    });

    it("match the matcher's verdicts on every source document", async () => {
        const lists = await classifyManagedPolicies(source.sources);
        assert.deepEqual(S3_FULL_ACCESS_MANAGED_POLICIES, lists.s3FullAccess);
        assert.deepEqual(BUCKET_ADMIN_MANAGED_POLICIES, lists.bucketAdmin);
        assert.deepEqual(S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES, lists.s3ExpressFullAccess);
        assert.deepEqual(DIRECTORY_BUCKET_ADMIN_MANAGED_POLICIES, lists.directoryBucketAdmin);
    });

    it("hold the policies that grant every S3 Express action or directory-bucket admin (AmazonS3ExpressFullAccess), and not the read-only ones", () => {
        assert.equal(S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES.AmazonS3ExpressFullAccess, "*");
        assert.ok(DIRECTORY_BUCKET_ADMIN_MANAGED_POLICIES.AmazonS3ExpressFullAccess.includes("s3express:putbucketpolicy"));
        assert.ok(!("AmazonS3ExpressReadOnlyAccess" in S3_EXPRESS_FULL_ACCESS_MANAGED_POLICIES));
        assert.ok(!("AmazonS3ReadOnlyAccess" in DIRECTORY_BUCKET_ADMIN_MANAGED_POLICIES));
    });

    it("hold the policies that grant every S3 action through s3:*, * and NotAction, and not the read-only ones", () => {
        // AmazonS3FullAccess: s3:*; AdministratorAccess: *; PowerUserAccess: NotAction iam:*, organizations:*, ...
        for (const name of ["AmazonS3FullAccess", "AdministratorAccess", "PowerUserAccess", "AIDevOpsAgentActionsPolicy"]) {
            assert.equal(S3_FULL_ACCESS_MANAGED_POLICIES[name], "*", name);
        }
        assert.ok(!("AmazonS3ReadOnlyAccess" in S3_FULL_ACCESS_MANAGED_POLICIES));
        assert.ok(!("AmazonS3ReadOnlyAccess" in BUCKET_ADMIN_MANAGED_POLICIES));
        // A policy whose s3:* is limited to its own buckets is listed with that resource.
        assert.equal(S3_FULL_ACCESS_MANAGED_POLICIES["service-role/AWSElasticBeanstalkService"], "arn:aws:s3:::elasticbeanstalk-*");
    });
});

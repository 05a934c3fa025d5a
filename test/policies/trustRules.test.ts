import { strict as assert } from "assert";
import { irsaTrustPinned, noBucketAdminForWorkloads, trustPrincipalsPinned } from "../../policies/rules";
import {
    ACCOUNT,
    doc,
    expectNone,
    expectViolations,
    goodIrsaTrust,
    goodPermissions,
    goodPodIdentityTrust,
    iamPolicy,
    ISSUER,
    PROVIDER_ARN,
    role,
    run,
    statement,
} from "./harness";

function irsaTrustWith(condition: Record<string, Record<string, unknown>>, principal = PROVIDER_ARN): any {
    return doc({ Effect: "Allow", Principal: { Federated: principal }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition });
}

describe("policy irsa-trust-pinned", () => {
    const check = (trust: any, stack = "prod") => run(irsaTrustPinned, [role(trust, {}, stack)]);

    it("passes the component's IRSA trust", async () => {
        expectNone(await check(goodIrsaTrust(["ray", "ray-s3-sa"], ["ray-jobs", "submitter"])));
    });

    it("a missing :sub pin is mandatory everywhere", async () => {
        const v = await check(irsaTrustWith({ StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com" } }), "dev");
        expectViolations(v, "irsa-trust-pinned", 1, /:sub is not pinned, so every service account of the cluster can assume the role/);
    });

    it("a wildcard :sub is advisory in development and mandatory in production", async () => {
        const trust = irsaTrustWith({
            StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com" },
            StringLike: { [`${ISSUER}:sub`]: "system:serviceaccount:ray:*" },
        });
        expectViolations(await check(trust, "dev"), "irsa-trust-pinned-advisory", 1, /uses StringLike with \["system:serviceaccount:ray:\*"\]/);
        expectViolations(await check(trust, "dev"), "irsa-trust-pinned", 0);
        expectViolations(await check(trust, "prod"), "irsa-trust-pinned", 1, /admits any matching service account/);
    });

    it("a missing or wildcard :aud is mandatory; a custom exact audience is advisory", async () => {
        const noAud = irsaTrustWith({ StringEquals: { [`${ISSUER}:sub`]: "system:serviceaccount:ray:ray-s3-sa" } });
        expectViolations(
            await check(noAud, "dev"),
            "irsa-trust-pinned",
            1,
            /:aud must be pinned to sts.amazonaws.com, so tokens minted for other audiences cannot assume the role/,
        );
        const wildcardAud = irsaTrustWith({
            StringEquals: { [`${ISSUER}:sub`]: "system:serviceaccount:ray:ray-s3-sa" },
            StringLike: { [`${ISSUER}:aud`]: "*" },
        });
        expectViolations(await check(wildcardAud, "dev"), "irsa-trust-pinned", 1, /:aud must be pinned/);
        // A custom audience (webIdentityToken.audience) is pinned exactly: advisory, a reminder that pods and provider must agree.
        const customAud = irsaTrustWith({ StringEquals: { [`${ISSUER}:sub`]: "system:serviceaccount:ray:ray-s3-sa", [`${ISSUER}:aud`]: "example.com" } });
        expectViolations(await check(customAud, "dev"), "irsa-trust-pinned", 0);
        expectViolations(
            await check(customAud, "dev"),
            "irsa-trust-pinned-advisory",
            1,
            /pinned to \["example.com"\], not sts.amazonaws.com: the ServiceAccounts must carry eks.amazonaws.com\/audience/,
        );
    });

    it("condition keys must belong to the provider in Principal", async () => {
        const other = "oidc.eks.eu-west-1.amazonaws.com/id/OTHER";
        const trust = irsaTrustWith({ StringEquals: { [`${other}:sub`]: "system:serviceaccount:ray:ray-s3-sa", [`${other}:aud`]: "sts.amazonaws.com" } });
        const v = await check(trust, "dev");
        const mine = expectViolations(v, "irsa-trust-pinned", 4);
        assert.equal(mine.filter((x) => /belongs to another OIDC provider/.test(x.message)).length, 2);
    });

    it("subjects that are not service accounts are mandatory", async () => {
        const trust = irsaTrustWith({ StringEquals: { [`${ISSUER}:sub`]: "ray-s3-sa", [`${ISSUER}:aud`]: "sts.amazonaws.com" } });
        expectViolations(await check(trust, "dev"), "irsa-trust-pinned", 1, /are not system:serviceaccount:NAMESPACE:NAME subjects/);
        // Names Kubernetes refuses, by the same rules the component uses: a 64-character namespace, an upper-case name.
        for (const subject of [`system:serviceaccount:${"n".repeat(64)}:ray-s3-sa`, "system:serviceaccount:ray:Ray"]) {
            const bad = irsaTrustWith({ StringEquals: { [`${ISSUER}:sub`]: subject, [`${ISSUER}:aud`]: "sts.amazonaws.com" } });
            expectViolations(await check(bad, "dev"), "irsa-trust-pinned", 1, /are not system:serviceaccount:NAMESPACE:NAME subjects/);
        }
    });

    describe("other OIDC providers", () => {
        const GITHUB = "token.actions.githubusercontent.com";
        const github = `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITHUB}`;
        const GITLAB = "gitlab.com";
        const gitlab = `arn:aws:iam::${ACCOUNT}:oidc-provider/${GITLAB}`;
        const pinned = (issuer: string, sub: unknown, operator = "StringEquals", aud: unknown = "sts.amazonaws.com") => ({
            StringEquals: { [`${issuer}:aud`]: aud },
            [operator]: { ...(operator === "StringEquals" ? { [`${issuer}:aud`]: aud } : {}), [`${issuer}:sub`]: sub },
        });

        it("GitHub Actions: a repository and branch pinned exactly, or all of one repository's refs, pass", async () => {
            expectNone(await check(irsaTrustWith(pinned(GITHUB, "repo:octo-org/octo-repo:ref:refs/heads/main"), github)));
            expectNone(await check(irsaTrustWith(pinned(GITHUB, "repo:octo-org/octo-repo:*", "StringLike"), github)));
            expectNone(await check(irsaTrustWith(pinned(GITHUB, "repo:octo-org/octo-repo:environment:prod"), github)));
        });

        it("GitHub Actions: no :sub pin lets every repository on GitHub in: mandatory everywhere", async () => {
            const v = await check(irsaTrustWith({ StringEquals: { [`${GITHUB}:aud`]: "sts.amazonaws.com" } }, github), "dev");
            expectViolations(
                v,
                "irsa-trust-pinned",
                1,
                /token.actions.githubusercontent.com:sub is not pinned, so every workflow of every repository on GitHub can assume the role/,
            );
        });

        it("GitHub Actions: a :sub that lets another owner's repository in is not pinned: mandatory everywhere", async () => {
            for (const sub of ["repo:*", "*", "re*"]) {
                const trust = irsaTrustWith(pinned(GITHUB, sub, "StringLike"), github);
                for (const stack of ["prod", "dev"]) {
                    expectViolations(
                        await check(trust, stack),
                        "irsa-trust-pinned",
                        1,
                        /:sub is not pinned, so every workflow of every repository on GitHub can assume the role \(the trust lets a token about "repo:outsider-owner/,
                    );
                }
            }
        });

        it("GitHub Actions: one repository name under any owner is mandatory in production, advisory in development", async () => {
            const trust = irsaTrustWith(pinned(GITHUB, "repo:*/octo-repo:*", "StringLike"), github);
            expectViolations(await check(trust, "prod"), "irsa-trust-pinned", 1, /with "repo:\*\/octo-repo:\*", which admits repositorys? of any owner/);
            expectViolations(await check(trust, "dev"), "irsa-trust-pinned", 0);
            expectViolations(await check(trust, "dev"), "irsa-trust-pinned-advisory", 1);
        });

        it("GitHub Actions: every repository of one organisation is advisory", async () => {
            const trust = irsaTrustWith(pinned(GITHUB, "repo:octo-org/*", "StringLike"), github);
            const v = await check(trust, "prod");
            expectViolations(v, "irsa-trust-pinned", 0);
            expectViolations(v, "irsa-trust-pinned-advisory", 1, /admits every repository of owner "octo-org"/);
        });

        it("GitHub Actions: :aud must be pinned; a wildcard under StringEquals matches nothing", async () => {
            const noAud = irsaTrustWith({ StringEquals: { [`${GITHUB}:sub`]: "repo:octo-org/octo-repo:ref:refs/heads/main" } }, github);
            expectViolations(
                await check(noAud, "dev"),
                "irsa-trust-pinned",
                1,
                /:aud must be pinned to sts.amazonaws.com, so tokens minted for other audiences cannot assume the role/,
            );
            const literal = irsaTrustWith(pinned(GITHUB, "repo:octo-org/octo-repo:*"), github);
            expectViolations(await check(literal, "dev"), "irsa-trust-pinned-advisory", 1, /compares \* and \? literally/);
        });

        it("GitLab: project_path pinned passes; a wildcard group is mandatory in production", async () => {
            expectNone(
                await check(
                    irsaTrustWith(pinned(GITLAB, "project_path:mygroup/myproject:ref_type:branch:ref:main", "StringEquals", "https://gitlab.com"), gitlab),
                ),
            );
            const wide = irsaTrustWith(pinned(GITLAB, "project_path:*", "StringLike", "https://gitlab.com"), gitlab);
            expectViolations(await check(wide, "dev"), "irsa-trust-pinned", 1, /gitlab.com:sub is not pinned, so every pipeline of every project/);
            const anyGroup = irsaTrustWith(pinned(GITLAB, "project_path:*/myproject:*", "StringLike", "https://gitlab.com"), gitlab);
            expectViolations(await check(anyGroup, "prod"), "irsa-trust-pinned", 1, /admits projects of any group/);
            const noSub = irsaTrustWith({ StringEquals: { [`${GITLAB}:aud`]: "https://gitlab.com" } }, gitlab);
            expectViolations(await check(noSub, "dev"), "irsa-trust-pinned", 1, /every pipeline of every project on the GitLab instance/);
        });

        it("any other OIDC provider: :sub and :aud must be pinned, and * alone is every identity", async () => {
            const issuer = "app.terraform.io";
            const tfc = `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer}`;
            expectNone(
                await check(
                    irsaTrustWith(pinned(issuer, "organization:acme:project:*:workspace:infra:run_phase:*", "StringLike", "aws.workload.identity"), tfc),
                ),
            );
            const v = await check(irsaTrustWith({ StringLike: { [`${issuer}:sub`]: "*" } }, tfc), "prod");
            expectViolations(
                v,
                "irsa-trust-pinned",
                2,
                /app.terraform.io:(sub is not pinned, so every identity the provider issues tokens for can assume the role|aud must be pinned to the audience)/,
            );
        });

        it("Cognito identity pools: :aud must name the pool", async () => {
            const trust = doc({ Effect: "Allow", Principal: { Federated: "cognito-identity.amazonaws.com" }, Action: "sts:AssumeRoleWithWebIdentity" });
            expectViolations(await check(trust, "dev"), "irsa-trust-pinned", 1, /cognito-identity.amazonaws.com:aud is not pinned/);
            trust.Statement[0].Condition = { StringEquals: { "cognito-identity.amazonaws.com:aud": "us-east-1:12345678-1234-1234-1234-123456789012" } };
            expectNone(await check(trust, "dev"));
        });
    });

    it("ignores trust that is not web identity", async () => {
        expectNone(await check(doc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" })));
    });
});

describe("policy trust-principals-pinned", () => {
    const check = (trust: any, stack = "prod") => run(trustPrincipalsPinned, [role(trust, {}, stack)]);

    it("passes the component's Pod Identity and IRSA trust", async () => {
        expectNone(await check(goodPodIdentityTrust()));
        expectNone(await check(goodIrsaTrust()));
    });

    it('a "*" principal in either form without a limiting condition is mandatory', async () => {
        for (const principal of ["*", { AWS: "*" }, { AWS: ["arn:aws:iam::111122223333:root", "*"] }]) {
            const v = await check(doc({ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole" }), "dev");
            expectViolations(
                v,
                "trust-principals-pinned",
                1,
                /Principal "\*" lets a caller of another account \(999988887777\) assume the role \(it has no condition\)/,
            );
        }
        const limited = doc({
            Effect: "Allow",
            Principal: { AWS: "*" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abc123" } },
        });
        expectNone(await check(limited));
    });

    it("Pod Identity trust without sts:TagSession is mandatory", async () => {
        const trust = goodPodIdentityTrust();
        trust.Statement[0].Action = "sts:AssumeRole";
        expectViolations(await check(trust, "dev"), "trust-principals-pinned", 1, /without sts:TagSession/);
    });

    it("unpinned cluster or account is advisory in development, mandatory in production", async () => {
        const trust = goodPodIdentityTrust();
        delete trust.Statement[0].Condition.StringEquals["aws:RequestTag/eks-cluster-name"];
        delete trust.Statement[0].Condition.StringEquals["aws:SourceAccount"];
        expectViolations(await check(trust, "dev"), "trust-principals-pinned-advisory", 1, /does not pin the cluster .* or the account/);
        expectViolations(await check(trust, "prod"), "trust-principals-pinned", 1, /anyone who can create a Pod Identity association/);
    });

    it("an eks-cluster-arn pin counts as pinning the cluster", async () => {
        const trust = goodPodIdentityTrust();
        delete trust.Statement[0].Condition.StringEquals["aws:RequestTag/eks-cluster-name"];
        trust.Statement[0].Condition.StringEquals["aws:RequestTag/eks-cluster-arn"] = `arn:aws:eks:us-west-2:${ACCOUNT}:cluster/ray-prod`;
        expectNone(await check(trust));
    });

    it("namespace and service account not pinned is advisory, even in production (shared ABAC roles)", async () => {
        const trust = goodPodIdentityTrust();
        delete trust.Statement[0].Condition.StringEquals["aws:RequestTag/kubernetes-namespace"];
        const v = await check(trust, "prod");
        expectViolations(v, "trust-principals-pinned-advisory", 1, /does not pin aws:RequestTag\/kubernetes-namespace/);
        expectViolations(v, "trust-principals-pinned", 0);
    });
});

describe("policy no-bucket-admin-for-workloads", () => {
    const check = (document: any, stack = "prod") => run(noBucketAdminForWorkloads, [iamPolicy(document, stack)]);

    it("passes the component's policy", async () => {
        expectNone(await check(goodPermissions()));
    });

    it("bucket-admin actions are advisory in development, mandatory in production", async () => {
        const admin = doc(statement({ Action: ["s3:PutBucketPolicy", "s3:GetObject"], Resource: "arn:aws:s3:::ckpt-bucket" }));
        expectViolations(await check(admin, "dev"), "no-bucket-admin-for-workloads-advisory", 1, /grants bucket-admin actions \(s3:PutBucketPolicy\)/);
        expectViolations(await check(admin, "prod"), "no-bucket-admin-for-workloads", 1);
    });

    it("catches admin actions granted through wildcards and NotAction", async () => {
        // On object ARNs, s3:Put* grants the object-level admin actions only: PutBucketAcl cannot apply to an object.
        const [objects] = expectViolations(
            await check(doc(statement({ Action: "s3:Put*" })), "dev"),
            "no-bucket-admin-for-workloads-advisory",
            1,
            /s3:PutObjectAcl/,
        );
        assert.doesNotMatch(objects.message, /s3:PutBucketAcl/);
        const onBucket = doc(statement({ Action: "s3:Put*", Resource: "arn:aws:s3:::ckpt-bucket" }));
        expectViolations(await check(onBucket, "dev"), "no-bucket-admin-for-workloads-advisory", 1, /s3:PutBucketPolicy, s3:PutBucketAcl/);
        expectViolations(
            await check(doc(statement({ Action: undefined, NotAction: "s3:GetObject", Resource: "arn:aws:s3:::ckpt-bucket" })), "dev"),
            "no-bucket-admin-for-workloads-advisory",
            1,
            /s3:DeleteBucket/,
        );
        expectViolations(await check(doc(statement({ Action: "s3:BypassGovernanceRetention" })), "dev"), "no-bucket-admin-for-workloads-advisory", 1);
    });

    it('Resource "*" on S3 actions is advisory in development, mandatory in production', async () => {
        const star = doc(statement({ Action: "s3:GetObject", Resource: "*" }));
        expectViolations(await check(star, "dev"), "no-bucket-admin-for-workloads-advisory", 1, /on Resource "\*"/);
        expectViolations(await check(star, "prod"), "no-bucket-admin-for-workloads", 1, /on Resource "\*"/);
    });

    it("leaves non-S3 statements and Deny statements alone", async () => {
        expectNone(await check(doc(statement({ Action: "ec2:*", Resource: "*" }), statement({ Effect: "Deny", Action: "s3:*", Resource: "*" }))));
    });
});

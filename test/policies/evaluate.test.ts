/**
 * The pack's evaluation core against the independent evaluator (iam-simulate, a test oracle only): both decide the
 * same Allow / explicit Deny / implicit Deny on generated documents (every condition operator family, IfExists,
 * negation, set operators, case, policy variables, absent keys) and on the corpus of public documents.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { evaluateDocument, EvaluationRequest } from "../../policies/lib/evaluate";
import { ACCOUNT, oracleDecision } from "../support/iamOracle";
import { CORPUS } from "./corpus";

const OUTSIDER = "999988887777";
const ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/ABC123";
/**
 * The OIDC provider lives in an account no Principal names: iam-simulate reads a provider ARN as an IAM principal of
 * its account, so `{"AWS": ACCOUNT}` would "admit" a web-identity caller there, which IAM does not (web identity
 * needs a Federated principal). Keeping the account apart compares what both model the same way.
 */
const PROVIDER = `arn:aws:iam::444455556666:oidc-provider/${ISSUER}`;

/** Condition keys, each with the values documents and requests draw from (wildcards, case variants, bad values). */
const KEYS: Record<string, { operators: string[]; values: string[]; multi?: boolean; requests?: string[] }> = {
    "aws:PrincipalAccount": { operators: ["String"], values: [ACCOUNT, OUTSIDER, "1111*", "*", "11112222333?"] },
    "aws:SourceArn": {
        operators: ["Arn", "String"],
        values: [
            `arn:aws:eks:us-west-2:${ACCOUNT}:podidentityassociation/ml/a-1`,
            `arn:aws:eks:us-west-2:*:podidentityassociation/ml/*`,
            `arn:aws:eks:*:${ACCOUNT}:podidentityassociation/*`,
            `arn:aws:eks:us-west-2:${OUTSIDER}:podidentityassociation/ml/a-2`,
            "arn:aws:eks:us-west-2:*:*",
            "not-an-arn",
        ],
    },
    [`${ISSUER}:sub`]: {
        operators: ["String"],
        values: ["system:serviceaccount:ray:ray-s3", "system:serviceaccount:ray:*", "system:serviceaccount:Ray:ray-s3", "system:serviceaccount:other:x", "*"],
    },
    [`${ISSUER}:aud`]: { operators: ["String"], values: ["sts.amazonaws.com", "STS.amazonaws.com", "other", "sts.*"] },
    "aws:TagKeys": { operators: ["String"], values: ["team", "env", "Team", "t*"], multi: true },
    "aws:RequestTag/team": { operators: ["String"], values: ["ml", "ML", "${aws:PrincipalTag/team}", "${aws:username, 'ml'}", "m?"] },
    "aws:username": { operators: ["String"], values: ["ml", "alice", "al*"] },
    "aws:SourceIp": {
        operators: ["Ip"],
        values: ["10.0.0.0/8", "10.1.2.3", "192.168.0.0/16", "203.0.113.0/24"],
        requests: ["10.1.2.3", "192.168.7.7", "203.0.113.9"],
    },
    "aws:MultiFactorAuthAge": { operators: ["Numeric"], values: ["0", "3600", "7200", "12.5", "abc"] },
    "aws:CurrentTime": { operators: ["Date"], values: ["2026-01-01T00:00:00Z", "2027-06-01T00:00:00Z", "2026-12-06"] },
    "aws:SecureTransport": { operators: ["Bool"], values: ["true", "false", "True"] },
};

const FAMILIES: Record<string, string[]> = {
    String: ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"],
    Arn: ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
    Ip: ["IpAddress", "NotIpAddress"],
    Numeric: ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"],
    Date: ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"],
    Bool: ["Bool"],
};

const keyArb = fc.constantFrom(...Object.keys(KEYS));

const conditionArb = keyArb.chain((key) => {
    const spec = KEYS[key];
    const operators = spec.operators.flatMap((f) => FAMILIES[f]);
    return fc.record({
        key: fc.constant(key),
        operator: fc.oneof(
            {
                weight: 8,
                arbitrary: fc
                    .tuple(fc.constantFrom("", "ForAnyValue:", "ForAllValues:"), fc.constantFrom(...operators), fc.boolean())
                    .map(([set, op, ifExists]) => `${set}${op}${ifExists ? "IfExists" : ""}`),
            },
            { weight: 1, arbitrary: fc.constant("Null") },
        ),
        values: fc.subarray(spec.values, { minLength: 1, maxLength: 3 }),
    });
});

const PRINCIPALS: unknown[] = [
    "*",
    { AWS: "*" },
    { AWS: ACCOUNT },
    { AWS: `arn:aws:iam::${ACCOUNT}:root` },
    { AWS: `arn:aws:iam::${OUTSIDER}:role/outsider` },
    { Service: "pods.eks.amazonaws.com" },
    { Federated: PROVIDER },
];

const statementArb = fc
    .record({
        Effect: fc.constantFrom("Allow", "Allow", "Deny"),
        Action: fc.constantFrom("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:*", ["sts:AssumeRole", "sts:TagSession"], "*"),
        Principal: fc.constantFrom(...PRINCIPALS),
        conditions: fc.array(conditionArb, { maxLength: 3 }),
        notPrincipal: fc.boolean(),
    })
    .map(({ Effect, Action, Principal, conditions, notPrincipal }) => {
        const Condition: Record<string, Record<string, string[]>> = {};
        for (const { operator, key, values } of conditions) (Condition[operator] ??= {})[key] = operator === "Null" ? ["true"] : values;
        const statement: Record<string, unknown> = { Effect, Action };
        // NotPrincipal is only used with Deny, as AWS documents it.
        if (notPrincipal && Effect === "Deny" && Principal !== "*") statement.NotPrincipal = Principal;
        else statement.Principal = Principal;
        if (conditions.length > 0) statement.Condition = Condition;
        return statement;
    });

const CALLERS: EvaluationRequest["principal"][] = [
    { kind: "AWS", value: `arn:aws:iam::${ACCOUNT}:role/ray-s3` },
    { kind: "AWS", value: `arn:aws:iam::${OUTSIDER}:role/outsider` },
    { kind: "Service", value: "pods.eks.amazonaws.com" },
    { kind: "Federated", value: PROVIDER },
];

const requestArb = fc.record({
    action: fc.constantFrom("sts:AssumeRole", "sts:TagSession", "sts:AssumeRoleWithWebIdentity"),
    principal: fc.constantFrom(...CALLERS),
    picks: fc.array(fc.tuple(keyArb, fc.nat(), fc.nat()), { maxLength: 6 }),
});

/** A request context drawn from the keys' value pools (multivalued keys get one to three values). */
function contextOf(picks: [string, number, number][]): Record<string, string | string[]> {
    const context: Record<string, string | string[]> = {};
    for (const [key, a, b] of picks) {
        const values = KEYS[key].requests ?? KEYS[key].values.filter((v) => !v.includes("*") && !v.includes("${"));
        const pool = values.length > 0 ? values : KEYS[key].values;
        context[key] = KEYS[key].multi ? [...new Set([pool[a % pool.length], pool[b % pool.length]])] : pool[a % pool.length];
    }
    if ("aws:RequestTag/team" in context && !("aws:PrincipalTag/team" in context) && picks.length % 2 === 0) context["aws:PrincipalTag/team"] = "ml";
    return context;
}

describe("evaluation core: the same decisions as the independent evaluator", function () {
    this.timeout(120_000);

    it("on generated trust documents and requests (every operator family, IfExists, negation, set operators, variables, absent keys)", () => {
        let compared = 0;
        const decisions = new Map<string, number>();
        fc.assert(
            fc.property(
                fc.array(statementArb, { minLength: 1, maxLength: 3 }),
                fc.array(requestArb, { minLength: 1, maxLength: 6 }),
                (statements, requests) => {
                    const document = { Version: "2012-10-17", Statement: statements };
                    for (const r of requests) {
                        const request = { action: r.action, principal: r.principal, context: contextOf(r.picks) };
                        const ours = evaluateDocument(document, "trust", request).decision;
                        const oracle = oracleDecision(document, "trust", request);
                        assert.equal(ours, oracle, `${JSON.stringify(document)}\n${JSON.stringify(request)}`);
                        compared++;
                        decisions.set(ours, (decisions.get(ours) ?? 0) + 1);
                    }
                },
            ),
            { numRuns: 400, seed: 20261206 },
        );
        // The generated cases reach every decision, so the agreement means something.
        for (const decision of ["Allow", "ExplicitDeny", "ImplicitDeny"])
            assert.ok((decisions.get(decision) ?? 0) >= 20, `${decision}: ${decisions.get(decision)}`);
        assert.ok(compared >= 1000);
    });

    it("on generated identity documents: Action / NotAction, Resource / NotResource with wildcards and policy variables, Version", () => {
        const RESOURCES = [
            "arn:aws:s3:::ckpt",
            "arn:aws:s3:::ckpt/*",
            "arn:aws:s3:::ckpt/${aws:username}/*",
            "arn:aws:s3:::ck?t/*",
            "arn:aws:s3:::*",
            "*",
            "arn:aws:s3:::CKPT/*",
        ];
        const statement = fc
            .record({
                Effect: fc.constantFrom("Allow", "Allow", "Deny"),
                action: fc.constantFrom("s3:GetObject", "s3:Get*", "s3:*", "*", "S3:getobject", ["s3:ListBucket", "s3:PutObject"]),
                notAction: fc.boolean(),
                resources: fc.subarray(RESOURCES, { minLength: 1, maxLength: 2 }),
                notResource: fc.boolean(),
                conditions: fc.array(conditionArb, { maxLength: 2 }),
            })
            .map(({ Effect, action, notAction, resources, notResource, conditions }) => {
                const result: Record<string, unknown> = {
                    Effect,
                    [notAction ? "NotAction" : "Action"]: action,
                    [notResource ? "NotResource" : "Resource"]: resources,
                };
                const Condition: Record<string, Record<string, string[]>> = {};
                for (const { operator, key, values } of conditions) (Condition[operator] ??= {})[key] = operator === "Null" ? ["false"] : values;
                if (conditions.length > 0) result.Condition = Condition;
                return result;
            });
        const request = fc.record({
            action: fc.constantFrom("s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteBucket"),
            resource: fc.constantFrom(
                "arn:aws:s3:::ckpt",
                "arn:aws:s3:::ckpt/alice/k",
                "arn:aws:s3:::ckpt/bob/k",
                "arn:aws:s3:::other/k",
                "arn:aws:s3:::CKPT/k",
            ),
            picks: fc.array(fc.tuple(keyArb, fc.nat(), fc.nat()), { maxLength: 5 }),
        });
        let compared = 0;
        fc.assert(
            fc.property(
                fc.array(statement, { minLength: 1, maxLength: 3 }),
                fc.constant("2012-10-17"),
                fc.array(request, { minLength: 1, maxLength: 6 }),
                (statements, Version, requests) => {
                    const document = { Version, Statement: statements };
                    for (const r of requests) {
                        const query = { action: r.action, resource: r.resource, context: contextOf(r.picks) };
                        assert.equal(
                            evaluateDocument(document, "identity", query).decision,
                            oracleDecision(document, "identity", query),
                            `${JSON.stringify(document)}\n${JSON.stringify(query)}`,
                        );
                        compared++;
                    }
                },
            ),
            { numRuns: 300, seed: 20261206 },
        );
        assert.ok(compared >= 600);
    });

    it("on every corpus document, with requests built from the document's own values", () => {
        let compared = 0;
        for (const entry of CORPUS) {
            if (typeof entry.document !== "object" || entry.carrier === "attachment") continue;
            const kind = entry.carrier === "identity" ? "identity" : entry.carrier === "bucket" ? "resource" : "trust";
            const text = JSON.stringify(entry.document);
            const actions = [...new Set([...text.matchAll(/"((?:s3|s3express|sts|kms|iam):[A-Za-z*]+)"/g)].map((m) => m[1].replace(/\*/g, "X")))];
            const arns = [...new Set([...text.matchAll(/"(arn:[^"]+)"/g)].map((m) => m[1].replace(/\$\{[^}]*\}/g, "v").replace(/[*?]/g, "x")))];
            const keys = [...new Set([...text.matchAll(/"([A-Za-z0-9.-]+(?:\.[a-z]+)*(?:\/[A-Za-z0-9/.-]+)?:[A-Za-z/_-]+)":/g)].map((m) => m[1]))];
            const values = [...new Set([...text.matchAll(/"([^"]{1,80})"/g)].map((m) => m[1].replace(/[*?]/g, "x")))];
            for (const action of actions.length ? actions : ["s3:GetObject"]) {
                for (const resource of kind === "trust" ? [undefined] : arns.slice(0, 4)) {
                    for (const principal of CALLERS) {
                        for (let i = 0; i < 3; i++) {
                            const context = Object.fromEntries(keys.map((k, j) => [k, values[(i * 7 + j * 3) % values.length]]));
                            const request = { action, resource, principal, context: i === 2 ? {} : context };
                            assert.equal(
                                evaluateDocument(entry.document, kind, request).decision,
                                oracleDecision(entry.document as object, kind, request),
                                `${entry.name}: ${JSON.stringify(request)}`,
                            );
                            compared++;
                        }
                    }
                }
            }
        }
        assert.ok(compared >= 500, String(compared));
    });

    describe("where the independent evaluator is known to differ from IAM's documentation (decided by the documentation)", () => {
        const allow = (Condition: object, Resource = "arn:aws:s3:::ckpt/*", Version = "2012-10-17") => ({
            Version,
            Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource, Condition }],
        });
        const get = (context: Record<string, string>, resource = "arn:aws:s3:::ckpt/k") => ({ action: "s3:GetObject", resource, context });

        it("epoch values are seconds (IAM user guide, date condition operators: 'UNIX epoch time'); the evaluator reads them as milliseconds", () => {
            const document = allow({ DateGreaterThan: { "aws:EpochTime": "1767225600" } }); // 2026-01-01T00:00:00Z
            assert.equal(evaluateDocument(document, "identity", get({ "aws:EpochTime": "1767225601" })).decision, "Allow");
            assert.equal(evaluateDocument(document, "identity", get({ "aws:EpochTime": "1767225599" })).decision, "ImplicitDeny");
            const iso = allow({ DateLessThan: { "aws:CurrentTime": "2026-01-01T00:00:01Z" } });
            assert.equal(evaluateDocument(iso, "identity", get({ "aws:CurrentTime": "1767225600" })).decision, "Allow");
        });

        it("0.0.0.0/0 holds every IPv4 address, and an IPv4 address is NotIpAddress of an IPv6 range (IAM user guide, IP address condition operators)", () => {
            assert.equal(
                evaluateDocument(allow({ IpAddress: { "aws:SourceIp": "0.0.0.0/0" } }), "identity", get({ "aws:SourceIp": "10.1.2.3" })).decision,
                "Allow",
            );
            assert.equal(
                evaluateDocument(allow({ NotIpAddress: { "aws:SourceIp": "2001:db8::/32" } }), "identity", get({ "aws:SourceIp": "10.1.2.3" })).decision,
                "Allow",
            );
            assert.equal(
                evaluateDocument(allow({ IpAddress: { "aws:SourceIp": "2001:db8::/32" } }), "identity", get({ "aws:SourceIp": "2001:db8::7" })).decision,
                "Allow",
            );
        });

        it("policy variables are literal text in a document of Version 2008-10-17 or none (IAM user guide, policy variables)", () => {
            const resource = "arn:aws:s3:::ckpt/${aws:username}/*";
            const alice = get({ "aws:username": "alice" }, "arn:aws:s3:::ckpt/alice/k");
            assert.equal(evaluateDocument(allow({}, resource), "identity", alice).decision, "Allow");
            assert.equal(evaluateDocument(allow({}, resource, "2008-10-17"), "identity", alice).decision, "ImplicitDeny");
            const literal = get({}, "arn:aws:s3:::ckpt/${aws:username}/k");
            assert.equal(evaluateDocument(allow({}, resource, "2008-10-17"), "identity", literal).decision, "Allow");
        });
    });
});

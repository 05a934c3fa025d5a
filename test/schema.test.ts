import { strict as assert } from "assert";
import * as path from "path";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { RayS3Access } from "../components";

/**
 * Other languages consume the component through the schema Pulumi's analyzer derives from the TypeScript
 * source (`pulumi package add`). This builds it in-process, the same way the plugin host does, and fails when
 * the analyzer rejects the args.
 */
describe("component schema (pulumi package add)", () => {
    let schema: any;

    before(async function () {
        this.timeout(120000);
        const provider = new ComponentProvider({
            components: [RayS3Access],
            dirname: path.join(__dirname, "..", "components"),
            name: "ray-s3-access",
        });
        schema = JSON.parse(await provider.getSchema());
    });

    it("describes RayS3Access under its type token with every documented input and output", () => {
        const resource = schema.resources["ray-s3-access:index:RayS3Access"];
        assert.ok(resource, "the component is in the schema");
        assert.equal(resource.isComponent, true);
        const inputs = Object.keys(resource.inputProperties).sort();
        assert.deepEqual(inputs, [
            "additionalPolicyArns", "additionalServiceAccounts", "assetsExternalId", "assetsProvider", "buckets", "clusterName", "createOidcProvider",
            "identity", "manageServiceAccount", "maxSessionDuration", "namespace", "oidcIssuerUrl", "oidcProviderArn",
            "permissionsBoundaryArn", "roleName", "rolePath", "roleSharing", "serviceAccountName", "tags", "trustPolicyMaxLength",
        ]);
        assert.deepEqual([...resource.requiredInputs].sort(), ["buckets", "namespace"]);
        assert.deepEqual(Object.keys(resource.properties).sort(), [
            "assetsRoleArn", "namespace", "oidcProviderArn", "permissionsPolicy", "podEnvironment", "podIdentityAssociationId", "policyArn", "roleArn",
            "roleName", "serviceAccountName", "trustPolicy",
        ]);
    });

    it("carries the TSDoc descriptions and the string enums other languages need", () => {
        const resource = schema.resources["ray-s3-access:index:RayS3Access"];
        assert.match(resource.inputProperties.clusterName.description, /EKS cluster/);
        const identityRef: string = resource.inputProperties.identity.$ref;
        const identityType = schema.types[identityRef.replace("#/types/", "")];
        assert.deepEqual(identityType.enum.map((e: any) => e.value).sort(), ["irsa", "podIdentity"]);
        const bucketRef: string = resource.inputProperties.buckets.items.$ref;
        const bucketType = schema.types[bucketRef.replace("#/types/", "")];
        assert.deepEqual(Object.keys(bucketType.properties).sort(), ["access", "bucket", "kmsKeyArns", "prefixes"]);
        assert.deepEqual(bucketType.required, ["bucket"]);
    });
});

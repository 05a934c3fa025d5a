/**
 * Pulumi backend URLs, as `pulumi login` takes them: Pulumi Cloud (or a self-hosted one) over http(s), and the DIY
 * backends (file, S3, Google Cloud Storage, Azure Blob Storage, PostgreSQL). Loaded by the CLI's argument checks,
 * so it imports nothing.
 */

/** A DIY backend: state in files or a database, stack names `organization/PROJECT/STACK`. */
export const DIY_BACKEND = /^(file|s3|gs|azblob|postgres):\/\//;

/** Why `value` is not a backend URL the Pulumi CLI can log in to, or undefined. */
export function backendUrlProblem(flag: string, value: string): string | undefined {
    // A file path may hold spaces; a Pulumi Cloud URL may not.
    if (/^https?:\/\/\S+$/.test(value) || (DIY_BACKEND.test(value) && value.length > value.indexOf("://") + 3)) return undefined;
    return `${flag} "${value}" is not a Pulumi backend URL: give https://api.pulumi.com (or your Pulumi Cloud's URL), s3://BUCKET, gs://BUCKET, azblob://CONTAINER, postgres://... or file://PATH`;
}

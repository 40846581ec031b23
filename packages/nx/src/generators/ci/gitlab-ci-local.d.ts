// gitlab-ci-local ships GitLab's published ci.json as a plain ES module without types; the CI generator's test reads it.
declare module 'gitlab-ci-local/src/schema/schema.js' {
  export const schema: object;
}

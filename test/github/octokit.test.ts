/**
 * The Octokit client with an injected fetch (as octokit's own tests inject one): what it believes of
 * GitHub's answers, and that no failure ever prints the token.
 */

import { describe, expect, it } from "vitest";
import { createGitHubClient, parseRepository, redact } from "../../generator/github/octokit.js";
import { ServiceError } from "../../generator/errors.js";
import { TOKEN, pullBody, reviewBody } from "./recorded.js";

const repository = { owner: "Codertocat", name: "Hello-World" };

function answering(status: number, body: unknown, seen: Request[] = []): typeof fetch {
  return (input: string | URL | Request, init?: RequestInit) => {
    seen.push(new Request(input, init));
    return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } }));
  };
}

describe("the Octokit client", () => {
  it("sends the token only in the Authorization header, to GitHub's path", async () => {
    const seen: Request[] = [];
    const client = createGitHubClient({ repository, token: TOKEN, fetch: answering(200, pullBody(2), seen) });

    const pull = await client.getPull(2);

    expect(pull).toMatchObject({
      number: 2,
      state: "open",
      headSha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
      headRepo: "Codertocat/Hello-World",
      author: "phi-analytics",
    });
    expect(seen.map((r) => [r.method, r.url, r.headers.get("authorization")])).toEqual([
      ["GET", "https://api.github.com/repos/Codertocat/Hello-World/pulls/2", `token ${TOKEN}`],
    ]);
  });

  it("never prints the token, even when the transport's error quotes the request", async () => {
    const leaky = (() => Promise.reject(new Error(`connect failed for {"authorization":"token ${TOKEN}"}`))) as unknown as typeof fetch;
    const client = createGitHubClient({ repository, token: TOKEN, fetch: leaky });

    const error = await client.listReviews(2).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(ServiceError);
    expect(JSON.stringify({ message: (error as ServiceError).message, issues: (error as ServiceError).issues })).not.toContain(TOKEN);
    expect((error as ServiceError).message).toContain("token ***");
  });

  it("refuses an answer without the fields datomspod reads, or with a review state GitHub does not have", async () => {
    const noHead = createGitHubClient({ repository, token: TOKEN, fetch: answering(200, { ...pullBody(2), head: undefined }) });
    const lowerCase = createGitHubClient({
      repository,
      token: TOKEN,
      fetch: answering(200, [{ ...reviewBody({ id: 1, login: "octocat", state: "APPROVED" }), state: "approved" }]),
    });

    await expect(noHead.getPull(2)).rejects.toThrow("GitHub's answer to GET pulls/2 has no head");
    await expect(lowerCase.listReviews(2)).rejects.toThrow('has the unknown review state "approved"');
  });

  it("takes a 404 for a review as no review, and a 422 for a review request as a refusal", async () => {
    const missing = createGitHubClient({ repository, token: TOKEN, fetch: answering(404, { message: "Not Found" }) });
    const refused = createGitHubClient({ repository, token: TOKEN, fetch: answering(422, { message: "Reviews may only be requested from collaborators." }) });

    expect(await missing.getReview(2, 80)).toBeUndefined();
    expect(await refused.requestReviewers(2, ["octocat"])).toBe(false);
  });

  it.each(["octo-org", "a/b/c", "../x", "owner/.."])("refuses %j as a repository name", (value) => {
    expect(() => parseRepository(value)).toThrow("is not owner/name");
  });

  it("redacts every occurrence of a secret", () => {
    expect(redact(`a ${TOKEN} b ${TOKEN}`, [TOKEN, undefined])).toBe("a *** b ***");
  });
});

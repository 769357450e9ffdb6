namespace Qwen.FakeHub;

/// <summary>A repository the fake Hub serves at branch "main" and at <paramref name="Commit"/>.</summary>
/// <param name="Id">The repo id, <c>org/name</c>.</param>
/// <param name="Commit">The 40-hex commit sha: a sha1 of the sorted (path, blob id) list, so the same files give the same commit.</param>
/// <param name="Files">Every file, sorted by path.</param>
public sealed record FakeRepo(string Id, string Commit, IReadOnlyList<FakeRepoFile> Files);

using Qwen.OnnxExport.Hub;

namespace Qwen.OnnxExport.Tests.Hub;

/// <summary>Repo ids as the Hub accepts them (huggingface_hub's validate_repo_id) and everything that is a path instead.</summary>
public sealed class HubRepoIdTests
{
    [Theory]
    [InlineData("Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "main")]
    [InlineData("Qwen/Qwen2.5-0.5B-Instruct@main", "Qwen/Qwen2.5-0.5B-Instruct", "main")]
    [InlineData("org/name@v1.0", "org/name", "v1.0")]
    [InlineData("org/name@refs/pr/1", "org/name", "refs/pr/1")]
    [InlineData("org/name@0123456789abcdef0123456789abcdef01234567", "org/name", "0123456789abcdef0123456789abcdef01234567")]
    [InlineData("my_org/a.b-c_d", "my_org/a.b-c_d", "main")]
    [InlineData("_x/y_", "_x/y_", "main")]
    public void TryParse_RepoId_Accepted(string text, string id, string revision)
    {
        Assert.True(HubRepoId.TryParse(text, out var repo));
        Assert.Equal(new HubRepoId(id, revision), repo);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("gpt2")]                 // no org: too easily a local folder name
    [InlineData("./x")]
    [InlineData("../models/qwen")]
    [InlineData("/abs/path")]
    [InlineData("a/b/c")]
    [InlineData("org/")]
    [InlineData("/name")]
    [InlineData(".org/name")]
    [InlineData("-org/name")]
    [InlineData("org/name.")]
    [InlineData("org/name-")]
    [InlineData("org/na..me")]
    [InlineData("org/na--me")]           // "--" separates org and name in the cache folder
    [InlineData("org/name.git")]
    [InlineData("org/na me")]
    [InlineData("org/nämе")]
    [InlineData("org\\name")]
    [InlineData("org/name@")]
    [InlineData("org/name@a/../b")]      // a revision names a file under refs/: it may not climb out
    [InlineData("org/name@/main")]
    [InlineData("org/name@ma in")]
    [InlineData("org/name@v1@v2")]
    public void TryParse_NotARepoId_Rejected(string? text)
    {
        Assert.False(HubRepoId.TryParse(text, out var repo));
        Assert.Null(repo);
    }

    [Fact]
    public void TryParse_PartsOf96Characters_AcceptedAnd97Rejected()
    {
        Assert.True(HubRepoId.TryParse($"{new string('a', 96)}/{new string('b', 96)}", out _));
        Assert.False(HubRepoId.TryParse($"{new string('a', 97)}/b", out _));
        Assert.False(HubRepoId.TryParse($"a/{new string('b', 97)}", out _));
    }

    [Fact]
    public void CacheFolderName_IsHuggingFaceHubs() => Assert.Equal("models--Qwen--Qwen2.5-7B-Instruct", new HubRepoId("Qwen/Qwen2.5-7B-Instruct", "main").CacheFolderName);

    [Theory]
    [InlineData("org/name", "org/name")]
    [InlineData("org/name@main", "org/name")]
    [InlineData("org/name@v2", "org/name@v2")]
    public void ToString_ShowsRevisionUnlessMain(string text, string expected)
    {
        Assert.True(HubRepoId.TryParse(text, out var repo));
        Assert.Equal(expected, repo.ToString());
    }
}

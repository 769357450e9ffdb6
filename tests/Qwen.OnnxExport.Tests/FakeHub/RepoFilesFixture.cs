using Qwen.FakeHub;

namespace Qwen.OnnxExport.Tests.FakeHub;

/// <summary>The tiny preset written once as a two-shard Qwen2.5 repo, shared by a test class and deleted after it.</summary>
public sealed class RepoFilesFixture : IDisposable
{
    /// <summary>The preset and seed TinyModel exports, so the repo's weights are those of the cached tiny model.</summary>
    public const string Preset = "tiny";

    /// <summary>See <see cref="Preset"/>.</summary>
    public const int Seed = 1234;

    /// <summary>The repo's directory.</summary>
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("fakehub-repo-").FullName;

    public RepoFilesFixture() => QwenRepoFiles.Write(Preset, Seed, Directory, shards: 2);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

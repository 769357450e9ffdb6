using Qwen.OnnxExport.Tests.Checkpoint;

namespace Qwen.OnnxExport.Tests.Cli;

/// <summary>Progress covers the long phases: hashing the checkpoint and writing the weights, each counted in bytes to its end.</summary>
public sealed class ExportProgressTests : IDisposable
{
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Export_ReportsHashingThenWriting_EachReachingItsFileSizes(bool linked)
    {
        // linked: every file a relative symbolic link into a blob folder, as a Hugging Face cache snapshot has them.
        var source = linked ? LinkedCopy(TestCheckpoint.Source) : TestCheckpoint.Source;
        var output = _dirs.Temp("progress");
        var reports = new List<ExportProgress>();
        ModelExporter.Export(new ExportOptions { InputDirectory = source, OutputDirectory = output }, new Collect(reports));

        var hashing = reports.Where(r => r.Phase == "hashing").ToList();
        var writing = reports.Where(r => r.Phase == "writing").ToList();
        Assert.True(reports.FindLastIndex(r => r.Phase == "hashing") < reports.FindIndex(r => r.Phase == "writing"), "hashing comes first");
        var hashed = new FileInfo(Path.Combine(TestCheckpoint.Source, "config.json")).Length + new FileInfo(Path.Combine(TestCheckpoint.Source, "model.safetensors")).Length;
        Assert.All(hashing, r => Assert.Equal(hashed, r.Total));
        Assert.Equal(hashed, hashing[^1].Done);
        Assert.True(hashing.Count > 10, "hashing reports as it goes, not once at the end");
        var data = new FileInfo(Path.Combine(output, "model.onnx.data")).Length;
        Assert.All(writing, r => Assert.Equal(data, r.Total));
        // Done counts tensor bytes; the file also holds up to 63 bytes of alignment padding after each tensor.
        Assert.InRange(writing[^1].Done, data - (64 * writing.Count), data);
        Assert.True(writing.Zip(writing.Skip(1), (a, b) => b.Done > a.Done).All(x => x), "writing progress only grows");
    }

    private string LinkedCopy(string source)
    {
        var root = _dirs.Temp("snapshot");
        var blobs = Path.Combine(root, "blobs");
        var snapshot = Path.Combine(root, "snapshots", "c0ffee");
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(snapshot);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            var blob = Path.Combine(blobs, Path.GetFileName(file) + ".blob");
            File.Copy(file, blob);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.Combine("..", "..", "blobs", Path.GetFileName(blob)));
        }
        return snapshot;
    }

    /// <summary>Synchronous, unlike Progress&lt;T&gt;, so the list is complete when Export returns.</summary>
    private sealed class Collect(List<ExportProgress> reports) : IProgress<ExportProgress>
    {
        public void Report(ExportProgress value) => reports.Add(value);
    }
}

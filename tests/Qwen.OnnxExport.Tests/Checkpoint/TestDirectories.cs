namespace Qwen.OnnxExport.Tests.Checkpoint;

/// <summary>Scratch directories of one test (checkpoint copies, export outputs), all deleted when it is disposed.</summary>
internal sealed class TestDirectories : IDisposable
{
    private readonly List<string> _paths = [];

    /// <summary>A fresh path under the temp directory; nothing is created.</summary>
    public string Temp(string name)
    {
        var path = TestCheckpoint.Temp(name);
        _paths.Add(path);
        return path;
    }

    /// <summary>A copy of the tiny checkpoint with <paramref name="edit"/> applied.</summary>
    public string Copy(Action<string>? edit = null)
    {
        var path = TestCheckpoint.Copy(edit);
        _paths.Add(path);
        return path;
    }

    public void Dispose()
    {
        foreach (var p in _paths.Where(Directory.Exists))
        {
            Directory.Delete(p, recursive: true);
        }
    }
}

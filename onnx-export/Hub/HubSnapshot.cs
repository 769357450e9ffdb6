namespace Qwen.OnnxExport.Hub;

/// <summary>A revision present in the cache: its snapshot folder holds (links to) every file the export needs.</summary>
/// <param name="Repo">The repo id and the revision asked for.</param>
/// <param name="Commit">The 40-hex commit sha.</param>
/// <param name="Directory">The snapshot folder, `&lt;cache&gt;/models--org--name/snapshots/&lt;commit&gt;`, readable as --input.</param>
/// <param name="BytesDownloaded">Bytes transferred by this call (0 when everything was cached).</param>
public sealed record HubSnapshot(HubRepoId Repo, string Commit, string Directory, long BytesDownloaded);

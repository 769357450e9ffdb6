namespace Qwen.OnnxExport.Hub;

/// <summary>A repo revision resolved to its commit, with the files the export needs.</summary>
/// <param name="Repo">The repo id and the revision asked for.</param>
/// <param name="Commit">The 40-hex commit sha the revision points at.</param>
/// <param name="Files">The files the export needs (config, generation config, tokenizer files, safetensors index and shards).</param>
public sealed record HubRevision(HubRepoId Repo, string Commit, IReadOnlyList<HubFile> Files);

namespace Qwen.Server.Hosting;

/// <summary>A model served from a Hugging Face repo id: the export's directory, the repo and the commit it was made from.</summary>
/// <param name="Directory">The exported model directory.</param>
/// <param name="RepoId">The repo id (org/name), the served model id unless --served-model-name says otherwise.</param>
/// <param name="Commit">The commit the revision resolved to.</param>
public sealed record HubModel(string Directory, string RepoId, string Commit);

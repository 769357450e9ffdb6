namespace Qwen.Server.Hosting;

/// <summary>A model served from a Hugging Face repo id: the export's directory and the repo it was made from.</summary>
/// <param name="Directory">The exported model directory (its manifest records the commit).</param>
/// <param name="RepoId">The repo id (org/name), the served model id unless --served-model-name says otherwise.</param>
public sealed record HubModel(string Directory, string RepoId);

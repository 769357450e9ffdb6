namespace Qwen.OnnxExport.Hub;

/// <summary>A Hub failure the user must act on; its message is one line naming the repo, what failed and what to do.</summary>
public sealed class HubException(string message) : ExportException(message);

namespace Qwen.OnnxExport;

/// <summary>An export that cannot proceed; the message is one line naming the file and the problem.</summary>
public class ExportException(string message) : Exception(message);

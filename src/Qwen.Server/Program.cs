using Qwen.Server;
using Qwen.Server.Hosting;

// Settings come from flags, QWEN_* variables and appsettings.json (see ServerOptions); the model loads before listening.
// A startup failure the operator can fix (setting, model files, address in use) is one line on stderr and exit code 1.
if (ServerUsage.Asked(args))
{
    Console.Write(ServerUsage.Text());
    return 0;
}
WebApplication app;
try
{
    app = QwenServerApp.Build(args);
}
catch (StartupException e)
{
    Console.Error.WriteLine($"qwen-server: {OneLine(e.Message)}");
    return 1;
}
try
{
    await app.RunAsync();
}
catch (IOException e) when (QwenServerApp.IsBindFailure(e))
{
    Console.Error.WriteLine($"qwen-server: cannot listen: {OneLine(e.Message)}");
    return 1;
}
return 0;

static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

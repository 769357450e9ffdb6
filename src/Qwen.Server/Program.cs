using Qwen.Server.Hosting;

// Settings come from flags, QWEN_* variables and appsettings.json (see ServerOptions); the model loads before listening.
WebApplication app;
try
{
    app = QwenServerApp.Build(args);
}
catch (Exception e) when (e is InvalidOperationException or FileNotFoundException or DirectoryNotFoundException)
{
    Console.Error.WriteLine($"qwen-server: {e.Message}");
    return 1;
}
await app.RunAsync();
return 0;

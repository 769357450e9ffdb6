using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Qwen.Server.Tests.Deploy;

/// <summary>The CUDA image's base against the pinned GPU package: the Dockerfile's default CUDA_IMAGE must have the CUDA major that the package's CUDA provider library links.</summary>
/// <remarks>
/// No Docker engine or GPU runs here, so a CUDA 12 base under a CUDA 13 provider would otherwise show up only when the
/// image starts on a GPU and fails to load <c>libonnxruntime_providers_cuda.so</c>. The package comes from NuGet restore
/// (the test project's <c>PackageDownload</c>, at the version Directory.Packages.props pins).
/// </remarks>
public sealed class CudaImageTests
{
    private const string GpuPackage = "Microsoft.ML.OnnxRuntime.Gpu.Linux";

    private const string CudaProvider = "libonnxruntime_providers_cuda.so";

    private static string Dockerfile => Path.Combine(RepoRoot.Path, "Dockerfile");

    [Fact]
    public async Task Dockerfile_CudaImage_HasTheCudaMajorTheGpuProviderNeeds()
    {
        var needed = ElfReader.NeededLibraries(GpuPackageLibrary(CudaProvider));
        var image = CudaBaseImage.FromDockerfile(await File.ReadAllTextAsync(Dockerfile));
        var mismatch = image.MismatchWith(needed);
        Assert.True(mismatch is null, mismatch);

        // cuDNN is not a DT_NEEDED entry of the 1.32.0 provider: ONNX Runtime's cuDNN frontend loads it with dlopen at run
        // time, so the ELF file cannot say which major it wants and only the CUDA major is checked against it. The image
        // must still ship cuDNN (ONNX Runtime's CUDA requirements: cuDNN 9); the unnumbered "-cudnn-" tags of CUDA 13 do
        // (NVIDIA's Dockerfiles for them install libcudnn9-cuda-13).
        Assert.False(needed.Any(n => n.StartsWith("libcudnn", StringComparison.Ordinal)),
            $"the provider now links cuDNN ({string.Join(", ", needed)}): check that library's major against {image.Image} too");
        Assert.Contains("-cudnn-", image.Image, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dockerfile_WithACuda12Tag_IsReportedAgainstTheGpuProvider()
    {
        // The base the Dockerfile had before ONNX Runtime 1.32.0: it builds, then cannot load the CUDA 13 provider.
        var dockerfile = await File.ReadAllTextAsync(Dockerfile);
        var line = Regex.Match(dockerfile, @"^ARG CUDA_IMAGE=.*$", RegexOptions.Multiline).Value;
        Assert.NotEmpty(line);
        var cuda12 = dockerfile.Replace(line, "ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04", StringComparison.Ordinal);

        var mismatch = CudaBaseImage.FromDockerfile(cuda12).MismatchWith(ElfReader.NeededLibraries(GpuPackageLibrary(CudaProvider)));

        Assert.NotNull(mismatch);
        Assert.Contains("is CUDA 12", mismatch, StringComparison.Ordinal);
        Assert.Contains("libcudart.so.13", mismatch, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nvidia/cuda:13.0.3-cudnn-runtime-ubuntu24.04", 13)]
    [InlineData("nvcr.io/nvidia/cuda:12.2.2-cudnn8-runtime-ubuntu22.04", 12)]
    [InlineData("localhost:5000/nvidia/cuda:13.1-runtime-ubuntu24.04@sha256:0123abcd", 13)]
    public void CudaBaseImage_Tag_GivesTheCudaMajor(string image, int major)
        => Assert.Equal(major, CudaBaseImage.FromImage(image).CudaMajor);

    [Theory]
    [InlineData("nvidia/cuda:latest")]
    [InlineData("nvidia/cuda")]
    public void CudaBaseImage_TagWithoutAVersion_IsRejected(string image)
        => Assert.Contains("does not start with a CUDA version", Assert.Throws<InvalidDataException>(() => CudaBaseImage.FromImage(image)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("libcublasLt.so.13 libcublas.so.13 libcurand.so.10 libcudart.so.13", 13, null)]
    [InlineData("libcudart.so.12 libcublasLt.so.12 libcurand.so.10", 13, "is CUDA 13, but the library needs libcudart.so.12, libcublasLt.so.12 (CUDA 12)")]
    [InlineData("libcudart.so.13 libcublas.so.12", 13, "name different CUDA majors: libcudart.so.13, libcublas.so.12")]
    [InlineData("libcurand.so.10 libc.so.6", 13, "needs none of libcudart, libcublas, libcublasLt")]
    public void MismatchWith_NeededLibraries_ReportsWhatDiffers(string needed, int major, string? expected)
    {
        var mismatch = new CudaBaseImage($"nvidia/cuda:{major}.0.0-cudnn-runtime-ubuntu24.04", major).MismatchWith(needed.Split(' '));
        if (expected is null)
        {
            Assert.Null(mismatch);
        }
        else
        {
            Assert.NotNull(mismatch);
            Assert.Contains(expected, mismatch, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(CudaProvider)]
    [InlineData("libonnxruntime.so")]
    [InlineData("libonnxruntime_providers_shared.so")]
    public async Task ElfReader_NeededLibraries_MatchReadelf(string library)
    {
        // readelf (binutils) is the independent oracle: the same list, in the same order.
        var path = GpuPackageLibrary(library);
        var (exit, output) = await RepoRoot.RunAsync("readelf", ["--dynamic", "--wide", path], RepoRoot.Path, TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, output);
        var expected = Regex.Matches(output, @"\(NEEDED\)\s+Shared library: \[([^\]]+)\]").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(expected);

        Assert.Equal(expected, ElfReader.NeededLibraries(path));
    }

    [Fact]
    public void ElfReader_NotAnElfFile_IsRejected()
        => Assert.Contains("is not an ELF file", Assert.Throws<InvalidDataException>(() => ElfReader.NeededLibraries(Dockerfile)).Message, StringComparison.Ordinal);

    /// <summary>A native library of the GPU package at the version Directory.Packages.props pins, in the NuGet global packages folder restore filled.</summary>
    private static string GpuPackageLibrary(string name)
    {
        var props = XDocument.Load(Path.Combine(RepoRoot.Path, "Directory.Packages.props"));
        var version = props.Descendants("PackageVersion").Single(e => (string?)e.Attribute("Include") == GpuPackage).Attribute("Version")!.Value;
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, GpuPackage.ToLowerInvariant(), version, "runtimes", "linux-x64", "native", name);
        Assert.True(File.Exists(path), $"{path} is missing: restore tests/Qwen.Server.Tests (its PackageDownload of {GpuPackage} {version}) with the same NUGET_PACKAGES");
        return path;
    }
}

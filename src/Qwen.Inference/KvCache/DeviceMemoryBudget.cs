namespace Qwen.Inference.KvCache;

/// <summary>How the KV cache was sized from device memory on CUDA (see <see cref="KvCacheLayout.FromDeviceMemory"/>): the reading, the budget and the slots it holds.</summary>
/// <param name="FreeBytes">Device memory free once the weights were loaded, as the CUDA runtime reported it.</param>
/// <param name="TotalBytes">The device's memory.</param>
/// <param name="Utilization">The fraction of <paramref name="TotalBytes"/> this process may take (<c>EngineOptions.GpuMemoryUtilization</c>).</param>
/// <param name="BudgetBytes">What that leaves for the KV cache: floor(utilization x total) - (total - free); negative when the device is already fuller than that.</param>
/// <param name="SlotsAllowed">floor(budget / bytes per slot): the slots the memory holds, before <c>MaxNumSeqs</c> caps them.</param>
public sealed record DeviceMemoryBudget(long FreeBytes, long TotalBytes, double Utilization, long BudgetBytes, long SlotsAllowed);

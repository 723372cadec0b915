using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Sluice.Contracts;

namespace Sluice.Inference;

/// <summary>
/// What the CUDA execution provider needs and whether this process has it, so a GPU stage is
/// refused before the job starts with what to install, never run on the CPU instead. The probes are
/// delegates so tests can show both outcomes on a machine without a GPU.
/// </summary>
/// <param name="availableProviders">ONNX Runtime's compiled-in execution providers.</param>
/// <param name="canLoad">Whether the loader finds a shared library by file name.</param>
internal sealed class CudaSupport(Func<IReadOnlyCollection<string>> availableProviders, Func<string, bool> canLoad)
{
    public const string ProviderName = "CUDAExecutionProvider";

    /// <summary>The GPU build that matches our CPU package; research/onnx.md §7.</summary>
    public const string GpuPackage = "Microsoft.ML.OnnxRuntime.Gpu.Linux 1.31.0";

    /// <summary>The build switch that makes Sluice with <see cref="GpuPackage"/> (src/Sluice.Inference/Sluice.Inference.csproj).</summary>
    public const string GpuBuildSwitch = "dotnet publish src/Sluice.Cli -c Release -p:SluiceGpu=true (or the image deploy/docker/Dockerfile.cuda)";

    /// <summary>
    /// The CUDA 13 libraries the provider is linked against (readelf NEEDED, research/onnx.md §7).
    /// libcuda.so.1 is left out: it comes with the NVIDIA driver, which nvidia-smi already proved present
    /// when the node counted real GPUs.
    /// </summary>
    public static IReadOnlyList<string> CudaLibraries { get; } = ["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10"];

    /// <summary>dlopen'ed by the provider at session creation rather than linked.</summary>
    public const string CudnnLibrary = "libcudnn.so.9";

    /// <summary>This process: ONNX Runtime's own list and the system loader (LD_LIBRARY_PATH included).</summary>
    public static CudaSupport ThisProcess { get; } = new(() => OrtEnv.Instance().GetAvailableProviders(), CanLoad);

    /// <summary>
    /// Why <paramref name="stage"/> cannot run the CUDA provider with <paramref name="resources"/>;
    /// empty when it can, or when it will not use CUDA (see <see cref="WantsCuda"/>).
    /// </summary>
    public IEnumerable<string> Preflight(string provider, string stage, ResourceRequest resources, bool gpusAreSimulated)
    {
        if (!WantsCuda(provider, resources)) return [];
        var problems = new List<string>();
        if (resources.Gpus <= 0)
            problems.Add($"stage '{stage}': OnnxOptions.ExecutionProvider is {OnnxOptions.CudaProvider} but the stage asks for no gpus; give it gpus (e.g. gpus: 1) so each actor is assigned a device, or use provider {OnnxOptions.AutoProvider} or {OnnxOptions.CpuProvider}");
        else if (gpusAreSimulated)
        {
            // auto runs on the CPU while holding the simulated device (OnnxProcessor); only cuda by name cannot.
            return Is(provider, OnnxOptions.CudaProvider) ? [SimulatedGpus(stage)] : [];
        }
        problems.AddRange(Missing(stage));
        return problems;
    }

    /// <summary>Each missing piece of the CUDA provider, with what to install.</summary>
    public IEnumerable<string> Missing(string stage)
    {
        if (!availableProviders().Contains(ProviderName))
            yield return $"stage '{stage}': ONNX Runtime in this process has no CUDA execution provider (it has {string.Join(", ", availableProviders())}); reference {GpuPackage} instead of Microsoft.ML.OnnxRuntime (the CPU build has no CUDA provider); from Sluice's sources: {GpuBuildSwitch}";
        var missing = CudaLibraries.Append(CudnnLibrary).Where(l => !canLoad(l)).ToList();
        if (missing.Count > 0)
            yield return $"stage '{stage}': the loader cannot find {string.Join(", ", missing)}; install CUDA 13 runtime libraries ({string.Join(", ", CudaLibraries)}) and cuDNN 9 ({CudnnLibrary}), e.g. from NVIDIA's packages, and make them visible to the loader (LD_LIBRARY_PATH)";
    }

    /// <summary>cuda asked for by name, or auto on a stage that holds gpus.</summary>
    public static bool WantsCuda(string provider, ResourceRequest resources) =>
        Is(provider, OnnxOptions.CudaProvider) || (Is(provider, OnnxOptions.AutoProvider) && resources.Gpus > 0);

    /// <summary>
    /// The CUDA device an actor's session runs on, or null for the CPU. auto picks CUDA only for
    /// an actor holding a real GPU; cuda without one fails rather than quietly running on the CPU.
    /// </summary>
    /// <exception cref="SluiceException">cuda was asked for but the actor holds no real GPU.</exception>
    public static int? Device(string provider, ProcessorContext context)
    {
        var real = context.Simulated is null;
        if (Is(provider, OnnxOptions.CpuProvider)) return null;
        if (Is(provider, OnnxOptions.AutoProvider)) return real && context.GpuIds.Count > 0 ? context.GpuIds[0] : null;
        if (!real && context.GpuIds.Count > 0) throw new SluiceException(SimulatedGpus(context.Operator));
        if (context.GpuIds.Count == 0)
            throw new SluiceException($"stage '{context.Operator}': OnnxOptions.ExecutionProvider is {OnnxOptions.CudaProvider} but actor {context.ActorIndex} was assigned no GPU; give the stage gpus (e.g. gpus: 1), or use provider {OnnxOptions.AutoProvider} or {OnnxOptions.CpuProvider} to run on the CPU");
        return context.GpuIds[0];
    }

    /// <summary>
    /// The CUDA devices of a tensor-parallel actor's <paramref name="count"/> shards (its first GPU ids), or null
    /// when <see cref="Device"/> picks the CPU: then every shard runs on the CPU.
    /// </summary>
    /// <exception cref="SluiceException">CUDA is picked but the actor holds fewer GPUs than shards.</exception>
    public static IReadOnlyList<int>? Devices(string provider, ProcessorContext context, int count)
    {
        if (Device(provider, context) is null) return null;
        if (context.GpuIds.Count < count)
            throw new SluiceException($"stage '{context.Operator}': OnnxOptions.TensorParallel is {count} but actor {context.ActorIndex} holds {context.GpuIds.Count} GPU(s); give the stage gpus: {count} (one per shard) or lower tensor_parallel");
        return context.GpuIds.Take(count).ToList();
    }

    /// <summary>Adds the CUDA provider on <paramref name="device"/>; when ONNX Runtime refuses, says what is missing.</summary>
    /// <exception cref="SluiceException">The provider could not be added.</exception>
    public void AppendTo(SessionOptions options, int device, string stage)
    {
        try
        {
            options.AppendExecutionProvider_CUDA(device);
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            var missing = Missing(stage).ToList();
            throw new SluiceException(
                $"stage '{stage}': the CUDA execution provider could not be started on device {device}: {e.Message.TrimEnd('.')}" + (missing.Count > 0 ? "; " + string.Join("; ", missing) : ""), e);
        }
    }

    public static string SimulatedGpus(string stage) =>
        $"stage '{stage}': provider {OnnxOptions.CudaProvider} cannot run on simulated GPUs (they exist only in time, --sim-gpus); use provider {OnnxOptions.AutoProvider}, which runs the model on the CPU while holding the simulated device, or the simulate op, or give this stage cpus instead of gpus";

    private static bool Is(string provider, string name) => string.Equals(provider, name, StringComparison.OrdinalIgnoreCase);

    private static bool CanLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out var handle)) return false;
        NativeLibrary.Free(handle);
        return true;
    }
}

using Sluice.Blocks;
using Sluice.Execution.Pools;

namespace Sluice.Execution.Operators;

/// <summary>One task in flight: its input, the bytes it reserved for its output, and the actor running it.</summary>
internal sealed record RunningTask(BlockRef Input, long Reserved, PoolActor? Actor, int Attempt);

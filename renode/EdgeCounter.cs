// Counts Renode's executed blocks as (previous block, block, instructions) edges, in C# because
// a Python hook on every block costs microseconds each. Compiled by Renode when
// tinybench_monitor.py runs `include @EdgeCounter.cs`; the monitor reads the counts back.
using System;
using System.Collections.Generic;
using System.Text;

namespace Tinybench
{
    public struct Edge : IEquatable<Edge>
    {
        public Edge(ulong prev, ulong address, uint instructions)
        {
            Prev = prev;
            Address = address;
            Instructions = instructions;
        }

        public bool Equals(Edge other)
        {
            return Prev == other.Prev && Address == other.Address && Instructions == other.Instructions;
        }

        public override int GetHashCode()
        {
            return (Prev * 31 + Address).GetHashCode() ^ (int)Instructions;
        }

        public readonly ulong Prev;
        public readonly ulong Address;
        public readonly uint Instructions;
    }

    public class EdgeCounter
    {
        public EdgeCounter(ulong budget, Action budgetSpent)
        {
            this.budget = budget;
            this.budgetSpent = budgetSpent;
            Prev = 1; // an odd address: no block starts there
        }

        public void OnBlock(ulong address, uint instructions)
        {
            if(Stopped)
            {
                return;
            }
            var edge = new Edge(Prev, address, instructions);
            ulong count;
            current.TryGetValue(edge, out count);
            current[edge] = count + 1;
            Prev = address;
            PrevInstructions = instructions;
            Started += instructions;
            if(Started >= budget)
            {
                Stopped = true;
                budgetSpent();
            }
        }

        // Close the counts so far as one segment (at a read of the cycle counter).
        public void NewSegment()
        {
            segments.Add(current);
            current = new Dictionary<Edge, ulong>();
        }

        // Every segment, the open one last: "segment" lines each followed by its edges.
        public string Dump()
        {
            var text = new StringBuilder();
            var all = new List<Dictionary<Edge, ulong>>(segments);
            all.Add(current);
            foreach(var segment in all)
            {
                text.Append("segment\n");
                foreach(var entry in segment)
                {
                    text.Append("edge ").Append(entry.Key.Prev).Append(' ')
                        .Append(entry.Key.Address).Append(' ')
                        .Append(entry.Key.Instructions).Append(' ')
                        .Append(entry.Value).Append('\n');
                }
            }
            return text.ToString();
        }

        public bool Stopped { get; set; }
        public ulong Prev { get; private set; }
        public uint PrevInstructions { get; private set; }
        public ulong Started { get; private set; }

        private readonly ulong budget;
        private readonly Action budgetSpent;
        private readonly List<Dictionary<Edge, ulong>> segments = new List<Dictionary<Edge, ulong>>();
        private Dictionary<Edge, ulong> current = new Dictionary<Edge, ulong>();
    }
}

"""Examples shown at the end of each command's --help (a command module's own
``EXAMPLES`` wins; commands without either get a generic pair)."""

EXAMPLES = {
    "summary": """examples:
  mmsanalyze summary station.pcapng
  mmsanalyze summary day1.pcapng day2.pcapng          (merged in time order)
  mmsanalyze summary station.pcapng --format json | jq .problems""",
    "latency": """examples:
  mmsanalyze latency station.pcapng
  mmsanalyze latency station.pcapng --by server_service --format csv
  mmsanalyze latency station.pcapng --slowest 20 --plot latency.png --plot-time latency_time.png""",
    "transactions": """examples:
  mmsanalyze transactions station.pcapng --failed
  mmsanalyze transactions station.pcapng --service read -Y 'latency_ms > 100' --columns request_frame,reference,latency_ms
  mmsanalyze transactions station.pcapng --status unanswered --plot outcomes.png""",
    "reports": """examples:
  mmsanalyze reports station.pcapng
  mmsanalyze reports station.pcapng --list --reassemble --rpt-id 'IED1/LLN0$BR$brcbMeas01'
  mmsanalyze reports station.pcapng --plot report_intervals.png""",
    "errors": """examples:
  mmsanalyze errors station.pcapng
  mmsanalyze errors station.pcapng --list --kind data-access-error -t ad
  mmsanalyze errors station.pcapng --list -Y 'object ~ CSWI' --format csv""",
    "associations": """examples:
  mmsanalyze associations station.pcapng
  mmsanalyze associations station.pcapng -Y 'password_in_clear == true'
  mmsanalyze associations station.pcapng --columns stream,client,server,vendor,model,revision""",
    "files": """examples:
  mmsanalyze files station.pcapng
  mmsanalyze files station.pcapng --extract recovered/             (never overwrites: .N copies)
  mmsanalyze files station.pcapng --directory --format csv""",
    "traffic": """examples:
  mmsanalyze traffic station.pcapng
  mmsanalyze traffic station.pcapng --by second -t ud
  mmsanalyze traffic station.pcapng --by source --plot traffic.png""",
    "goose": """examples:
  mmsanalyze goose station.pcapng
  mmsanalyze goose station.pcapng --list -Y 'gocb_ref ~ PTRC && st_num > 3'
  mmsanalyze goose -i eth0 -a duration:30 --plot goose.png        (live, as root)""",
    "sv": """examples:
  mmsanalyze sv process_bus.pcap
  mmsanalyze sv process_bus.pcap --list -Y 'smp_synch == 0' --columns frame,sv_id,smp_cnt
  mmsanalyze sv process_bus.pcap --plot sv.png""",
    "modes": """examples:
  mmsanalyze modes station.pcapng
  mmsanalyze modes station.pcapng --states -Y 'attribute == beh' --format csv
  mmsanalyze modes station.pcapng --findings --follow-timeout 10
  mmsanalyze modes station.pcapng --scl station.scd --plot modes.png""",
    "scl": """examples:
  mmsanalyze scl station.scd
  mmsanalyze scl station.scd --min-severity warning
  mmsanalyze scl station.scd --format json | jq .inventory.ieds""",
    "scl-check": """examples:
  mmsanalyze scl-check station.pcapng --scl station.scd
  mmsanalyze scl-check station.pcapng --scl station.scd --problems
  mmsanalyze scl-check station.pcapng --scl station.scd -Y 'kind == GoCB' --format csv""",
    "security": """examples:
  mmsanalyze security station.pcapng
  mmsanalyze security station.pcapng --scl station.scd --min-severity medium
  mmsanalyze security station.pcapng --matrix --format csv
  mmsanalyze security station.pcapng --allow allowed.csv
  mmsanalyze security station.pcapng --export-allowlist nft | sudo nft -f -""",
    "split": """examples:
  mmsanalyze split station.pcapng --by association -o per-association/
  mmsanalyze split station.pcapng --by server -o per-ied/ --format json
  mmsanalyze split process_bus.pcap --by sv -o per-stream/""",
    "batch": """examples:
  mmsanalyze batch captures/ --out station.store
  mmsanalyze batch 'archive/*.pcapng.gz' --out station.store -j 2
  mmsanalyze batch ring/ --out station.store --continuous
  mmsanalyze batch captures/ --out /shared/station.store --dask tcp://scheduler:8786""",
    "query": """examples:
  mmsanalyze query station.store                                  (the tables and their columns)
  mmsanalyze query station.store "SELECT server, count(*) AS n FROM transactions GROUP BY ALL"
  mmsanalyze query station.store "SELECT * FROM goose WHERE st_num > 3" --format csv""",
}

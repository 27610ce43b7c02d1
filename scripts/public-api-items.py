#!/usr/bin/env python3
"""The public API of a crate from rustdoc JSON (see scripts/public-api): every public item
reachable from the root, following `pub use`, with public fields, variants and inherent
methods. Prints counts by kind; with -l, every path. An item reachable by two paths counts
twice, as a user sees both."""
import json,sys
d=json.load(open(sys.argv[1]))
index=d["index"]; root=d["root"]
out=set()
def kind(item):
    inner=item["inner"]; return next(iter(inner)) if isinstance(inner,dict) else inner
seen=set()
def walk(iid, prefix):
    iid=str(iid)
    if iid not in index: return
    item=index[iid]
    if (iid,prefix) in seen: return
    seen.add((iid,prefix))
    k=kind(item); name=item.get("name")
    if item.get("visibility")!="public" and iid!=str(root): return
    inner=item["inner"][k] if isinstance(item["inner"],dict) else None
    if k=="module":
        p=prefix+"::"+name if prefix else name
        if iid!=str(root) or True: out.add(("module",p))
        for c in inner["items"]: walk(c,p)
    elif k=="use":
        tgt=inner.get("id")
        if tgt is None or str(tgt) not in index: 
            out.add(("reexport",prefix+"::"+inner["name"])); return
        t=index[str(tgt)]
        if inner.get("is_glob"):
            tk=kind(t)
            if tk=="module":
                for c in t["inner"]["module"]["items"]: walk(c,prefix)
            return
        # walk target under this name
        t2=dict(t); t2["name"]=inner["name"]; t2["visibility"]="public"
        index["re"+iid]=t2; walk("re"+iid,prefix)
    else:
        p=prefix+"::"+name
        out.add((k,p))
        if k in ("struct","enum","trait","union"):
            impls=inner.get("impls",[]) if isinstance(inner,dict) else []
            if k=="trait":
                for c in inner["items"]:
                    ci=index.get(str(c))
                    if ci: out.add(("trait_item",p+"::"+ci["name"]))
            if k=="struct":
                kk=inner.get("kind",{})
                if isinstance(kk,dict) and "plain" in kk:
                    for f in kk["plain"]["fields"]:
                        fi=index.get(str(f))
                        if fi and fi.get("visibility")=="public": out.add(("field",p+"::"+fi["name"]))
            if k=="enum":
                for v in inner["variants"]:
                    vi=index.get(str(v))
                    if vi: out.add(("variant",p+"::"+vi["name"]))
            for im in impls:
                imi=index.get(str(im))
                if not imi: continue
                ii=imi["inner"]["impl"]
                if ii.get("trait") is None and not ii.get("synthetic") and not ii.get("blanket_impl"):
                    for c in ii["items"]:
                        ci=index.get(str(c))
                        if ci and ci.get("visibility")=="public": out.add(("method",p+"::"+ci["name"]))
walk(root,"")
from collections import Counter
c=Counter(k for k,_ in out)
print(f"{sys.argv[1].split('/')[-1]}: {len(out)} public items:", ", ".join(f"{k} {n}" for k,n in sorted(c.items())))
if "-l" in sys.argv:
    for k,p in sorted(out,key=lambda x:x[1]): print(k,p)

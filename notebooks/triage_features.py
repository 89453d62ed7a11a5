# Compare triage features on train -> dev (never the sealed test split).
# Run: .venv/bin/python notebooks/triage_features.py  (needs `coach models minilm-l6` in ./.coach-home)
import numpy as np, time
from pathlib import Path
from coach.safety.dataset import load_train, load_examples, DEV
from coach.safety.categories import Category
from knowledge.embeddings import Embedder
from sklearn.linear_model import LogisticRegression
from sklearn.feature_extraction.text import TfidfVectorizer
from scipy.sparse import hstack, csr_matrix
from coach.safety.rules import strip_idioms
L=list(Category)
tr=load_train(); dv=load_examples(DEV)
emb=Embedder(Path('.coach-home/models/minilm-l6'))
Xtr=emb.embed([strip_idioms(e.text) for e in tr]); Xdv=emb.embed([strip_idioms(e.text) for e in dv])
ytr=np.array([L.index(e.category) for e in tr]); ydv=np.array([L.index(e.category) for e in dv])
def report(name,P):
    # urgent recall at thresholds; fpr on none
    for t in (0.15,0.2,0.3,0.5):
        pred=[]
        for p in P:
            c=3
            if p[0]>=t: c=0
            elif p[1]>=t: c=1
            elif p[2]>=0.45: c=2
            pred.append(c)
        pred=np.array(pred)
        rc=(pred[ydv==0]==0).mean(); re=(pred[ydv==1]==1).mean()
        # urgent recall: crisis or emergency predicted as either urgent
        ru=np.isin(pred[np.isin(ydv,[0,1])],[0,1]).mean()
        fpr=(pred[ydv==3]!=3).mean(); acc=(pred==ydv).mean()
        print(f"{name:28s} t={t:.2f} crisisR={rc:.3f} emergR={re:.3f} urgentR={ru:.3f} benignFPR={fpr:.3f} acc={acc:.3f}")
for C in (2,8,32):
    m=LogisticRegression(C=C,max_iter=3000,class_weight='balanced').fit(Xtr,ytr); report(f"emb C={C}",m.predict_proba(Xdv))
for C in (8,32):
  for an in ('char_wb',):
    tf=TfidfVectorizer(analyzer=an,ngram_range=(2,5),min_df=2,sublinear_tf=True).fit([e.text.lower() for e in tr])
    A=hstack([csr_matrix(Xtr),tf.transform([e.text.lower() for e in tr])]).tocsr(); B=hstack([csr_matrix(Xdv),tf.transform([e.text.lower() for e in dv])]).tocsr()
    m=LogisticRegression(C=C,max_iter=3000,class_weight='balanced').fit(A,ytr); report(f"emb+tfidf {an} C={C}",m.predict_proba(B))
    tfw=TfidfVectorizer(analyzer='word',ngram_range=(1,2),min_df=1,sublinear_tf=True).fit([e.text.lower() for e in tr])
    A=hstack([csr_matrix(Xtr),tf.transform([e.text.lower() for e in tr]),tfw.transform([e.text.lower() for e in tr])]).tocsr(); B=hstack([csr_matrix(Xdv),tf.transform([e.text.lower() for e in dv]),tfw.transform([e.text.lower() for e in dv])]).tocsr()
    m=LogisticRegression(C=C,max_iter=3000,class_weight='balanced').fit(A,ytr); report(f"emb+char+word C={C}",m.predict_proba(B))

"""Demo data drawn from the real case: the Joint Committee for Science and
Technology Cooperation between China (MOST) and Wallonia-Brussels (WBI).

What it builds, in the order things happened:

- the 2021 call CN-BE-2021, its proposals, eligibility, reviews and rankings, and
  its list of projects adopted at the 5th meeting (by video, 2021-07-14), which
  turned the funded proposals into projects S5-CN-BE-2021-01.. ;
- the personnel exchange call CN-BE-2022, launched by the 5th meeting, now in
  selection: some reviews still pending, a draft project list, and a draft
  decision waiting for the tentative 6th meeting (China, 2023);
- the joint call CN-BE-2023, open now, with drafts the demo researchers can
  confirm and submit; and a draft call CN-BE-2024 awaiting WBI's approval.

Past events go through the real operations wherever their time checks allow.
Where an operation refuses a past instant (starting a proposal in 2021,
assigning or reviewing after the due date), the rows are built with the models
exactly as the operation would, and the timestamps are then set to the demo's
dates. The audit log keeps the instants at which the demo was seeded: it is
append-only.
"""
from __future__ import annotations

import contextlib
import hashlib
import random
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

import sqlalchemy as sa
from flask import current_app, has_request_context

from cfp.auth.models import User
from cfp.calls.models import Agency, Agreement, Call, CallState, Instrument, JointCommittee
from cfp.calls.operations import (
    CallTerms,
    CriterionTerms,
    SideTerms,
    approve_call,
    close_call_if_due,
    draft_call,
    move_call,
    open_call_if_due,
)
from cfp.core.outbox import OutboxMessage
from cfp.core.roles import Role
from cfp.core.states import change_state
from cfp.core.timezones import local_to_utc, to_zone
from cfp.core.types import money, utcnow
from cfp.extensions import db
from cfp.meetings.models import DecisionKind, MeetingMode, MeetingStatus
from cfp.meetings.operations import (
    add_agenda_item,
    add_attendee,
    attach_project_list,
    create_meeting,
    draft_decision,
    record_adoption_at_meeting,
)
from cfp.projects.models import Project, ProjectReport, ReportKind, ReportState
from cfp.proposals.content import ProposalContent, mobility_costs, snapshot
from cfp.proposals.models import (
    PROPOSAL_TRANSITIONS,
    BudgetLine,
    MobilityTrip,
    PartnerInvitation,
    Proposal,
    ProposalMember,
    ProposalSide,
    ProposalState,
    ProposalVersion,
)
from cfp.proposals.operations import (
    confirm_proposal,
    decide_eligibility,
    invite_partner,
    join_proposal,
    save_proposal,
    start_proposal,
    submit_proposal,
    withdraw_proposal,
)
from cfp.reviews.models import (
    Assignment,
    AssignmentMethod,
    AssignmentState,
    Recommendation,
    Review,
    ReviewerProfile,
    ReviewScore,
    ReviewState,
)
from cfp.reviews.operations import (
    answer_invitation,
    assign_reviewer,
    compute_side_ranking,
    declare_interests,
    save_review,
    weighted_score,
)
from cfp.selection.funding import draft_project_list, propose_project_list
from cfp.selection.operations import release_letters
from cfp.selection.ranking import set_outcome

DEMO_PASSWORD = "demo-password-2021"

# (who, email): every demo account logs in with DEMO_PASSWORD.
DEMO_ACCOUNTS: list[tuple[str, str]] = [
    ("Administrator", "admin@example.org"),
    ("Committee secretariat (both sides)", "secretariat@example.org"),
    ("Co-chair, Chinese side — Zhao Jing, MOST", "zhao.jing@example.org"),
    ("Co-chair, Belgian side — Christian Carette, WBI", "christian.carette@example.org"),
    ("Agency staff, MOST (CN)", "staff.most@example.org"),
    ("Agency staff, WBI (BE)", "staff.wbi@example.org"),
    ("Reviewer, Chinese side (pending invitations)", "reviewer.cn@example.org"),
    ("Reviewer, Belgian side (pending invitations)", "reviewer.be@example.org"),
    ("Researcher, Chinese side — PI at Tsinghua University", "researcher.cn@example.org"),
    ("Researcher, Belgian side — PI at UCLouvain", "researcher.be@example.org"),
]

BRUSSELS = "Europe/Brussels"
SHANGHAI = "Asia/Shanghai"


# --- people ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    name: str
    institution: str
    name_original: str | None = None
    title: str = ""
    email: str | None = None


# Principal investigators (invented people at real institutions).
CN_PIS = {
    "li.ming": Person("Li Ming", "Tsinghua University", "李明", "Professor"),
    "chen.yu": Person("Chen Yu", "Tsinghua University", "陈宇",
                      "Associate Professor, School of Environment",
                      "researcher.cn@example.org"),
    "liu.fang": Person("Liu Fang", "Fudan University", "刘芳", "Professor"),
    "feng.zhiqiang": Person("Feng Zhiqiang",
                            "Institute of Geographic Sciences and Natural Resources Research, CAS",
                            "冯志强", "Research Professor"),
    "wu.hao": Person("Wu Hao", "University of Science and Technology of China", "吴昊",
                     "Professor"),
    "sun.li": Person("Sun Li", "China Agricultural University", "孙丽", "Professor"),
    "hu.bin": Person("Hu Bin", "Xi'an Jiaotong University", "胡斌", "Professor"),
    "zheng.hong": Person("Zheng Hong", "Institute of Chemistry, CAS", "郑红", "Research Professor"),
    "zhou.ting": Person("Zhou Ting", "Nanjing University", "周婷", "Associate Professor"),
    "gao.xiang": Person("Gao Xiang", "Beihang University", "高翔", "Professor"),
    "ma.jun": Person("Ma Jun", "Harbin Institute of Technology", "马骏", "Professor"),
    "huang.xiaoyan": Person("Huang Xiaoyan", "Sun Yat-sen University", "黄晓燕", "Professor"),
    "xu.min": Person("Xu Min", "Wuhan University", "徐敏", "Associate Professor"),
    "yang.fan": Person("Yang Fan", "Shanghai Jiao Tong University", "杨帆", "Professor"),
    "tang.yu": Person("Tang Yu", "Central South University", "唐宇", "Professor"),
    "deng.chao": Person("Deng Chao", "Dalian University of Technology", "邓超",
                        "Associate Professor"),
    "he.xue": Person("He Xue", "Tongji University", "何雪", "Professor"),
    "luo.jun": Person("Luo Jun", "Huazhong University of Science and Technology", "罗军",
                      "Professor"),
    "cao.ying": Person("Cao Ying", "Northwest A&F University", "曹颖", "Associate Professor"),
    "guo.peng": Person("Guo Peng", "Sichuan University", "郭鹏", "Professor"),
    "zhang.wei": Person("Zhang Wei", "Peking University", "张伟", "Associate Professor"),
    "han.mei": Person("Han Mei", "Nankai University", "韩梅", "Professor"),
    "lin.feng": Person("Lin Feng", "Xiamen University", "林峰", "Associate Professor"),
    "song.tao": Person("Song Tao", "Jilin University", "宋涛", "Associate Professor"),
    "peng.bo": Person("Peng Bo", "Southeast University", "彭博", "Professor"),
    "wang.lei": Person("Wang Lei", "Zhejiang University", "王磊", "Professor"),
    "liang.jing": Person("Liang Jing", "Shandong University", "梁静", "Professor"),
}
BE_PIS = {
    "sophie.lambert": Person("Sophie Lambert", "UCLouvain", None,
                             "Professor, Earth and Life Institute", "researcher.be@example.org"),
    "isabelle.mertens": Person("Isabelle Mertens", "UMONS", None, "Professor"),
    "julien.lefevre": Person("Julien Lefèvre", "ULB", None, "Professor"),
    "pierre.collard": Person("Pierre Collard", "ULiège – Gembloux Agro-Bio Tech", None,
                             "Professor"),
    "elodie.moreau": Person("Élodie Moreau", "UCLouvain", None, "FNRS Research Associate"),
    "nicolas.renard": Person("Nicolas Renard", "UNamur", None, "Professor"),
    "olivier.fontaine": Person("Olivier Fontaine", "UMONS", None, "Professor"),
    "claire.dupont": Person("Claire Dupont", "ULiège", None, "Professor"),
    "aurelie.denis": Person("Aurélie Denis", "UNamur", None, "Associate Professor"),
    "maxime.lejeune": Person("Maxime Lejeune", "ULB", None, "Associate Professor"),
    "caroline.delvaux": Person("Caroline Delvaux", "UMONS", None, "Professor"),
    "antoine.lemaire": Person("Antoine Lemaire", "ULiège", None, "Research Associate"),
    "catherine.simon": Person("Catherine Simon", "ULB", None, "Professor"),
    "valerie.gilson": Person("Valérie Gilson", "UCLouvain", None, "Professor"),
    "anne.remacle": Person("Anne Remacle", "UNamur", None, "Professor"),
    "benoit.legrand": Person("Benoît Legrand", "UCLouvain", None, "Professor"),
    "jerome.lacroix": Person("Jérôme Lacroix", "UMONS", None, "Associate Professor"),
    "francois.hermans": Person("François Hermans", "UNamur", None, "Professor"),
    "sarah.piron": Person("Sarah Piron", "ULB", None, "Associate Professor"),
    "laurent.dubois": Person("Laurent Dubois", "UCLouvain", None, "Professor"),
    "celine.bodart": Person("Céline Bodart", "ULiège", None, "Professor emerita"),
    "david.cornet": Person("David Cornet", "UMONS", None, "Associate Professor"),
}

# Reviewer pools: (person, topics, keywords, expertise).
CN_REVIEWERS = [
    (Person("Huang Jian", "Zhejiang University", "黄健", "Professor", "reviewer.cn@example.org"),
     {"materials"}, "materials science, batteries, energy storage, electrochemistry, catalysis",
     ("Electrochemical energy storage; battery and catalyst materials; 20 years of research, "
      "member of several NSFC review panels.")),
    (Person("Zhou Min", "Peking University", "周敏", "Professor"),
     {"health"}, "epidemiology, microbiome, infectious diseases, public health",
     "Molecular epidemiology and the human microbiome."),
    (Person("Xu Tao", "Shanghai Jiao Tong University", "徐涛", "Professor"),
     {"ict"}, "machine learning, computer vision, IoT security, distributed systems",
     "Machine learning systems and security of connected devices."),
    (Person("Lin Hui", "Nanjing University", "林慧", "Professor"),
     {"environment", "agri"}, "hydrology, climate change, ecology, remote sensing",
     "Watershed hydrology and ecosystem responses to climate change."),
    (Person("Gao Lei", "Harbin Institute of Technology", "高磊", "Professor"),
     {"materials", "ict"}, "composites, polymers, mechanical engineering, cement-based materials",
     "Structural materials and composites; durability testing."),
    (Person("He Ping", "Sun Yat-sen University", "何平", "Professor"),
     {"health", "agri"}, "cell biology, immunology, drug discovery, veterinary science",
     "Host–pathogen interactions and drug discovery."),
]
BE_REVIEWERS = [
    (Person("Nathalie Gillet", "ULiège", None, "Professor", "reviewer.be@example.org"),
     {"environment", "agri", "materials"},
     "environmental science, climate, life-cycle assessment, circular economy, remote sensing",
     ("Environmental assessment of technologies (life-cycle assessment) and Earth observation "
      "of land surfaces.")),
    (Person("Marc Dewael", "ULB", None, "Professor"),
     {"ict"}, "artificial intelligence, machine learning, cryptography, embedded systems",
     "Machine learning and applied cryptography."),
    (Person("Anne-Sophie Hubert", "UMONS", None, "Professor"),
     {"materials"}, "materials chemistry, polymers, batteries, catalysis, recycling",
     "Materials chemistry for energy and recycling processes."),
    (Person("Thierry Baudoux", "UNamur", None, "Professor"),
     {"health", "agri"}, "microbiology, immunology, veterinary virology, antimicrobial resistance",
     "Microbiology and animal infectious diseases."),
    (Person("Véronique Collignon", "UCLouvain", None, "Professor"),
     {"environment", "agri"}, "soil science, agronomy, ecology, climate",
     "Soil–plant–atmosphere interactions in agricultural and natural ecosystems."),
    (Person("Jean-François Renson", "ULiège", None, "Professor"),
     {"health"}, "oncology, public health, bioinformatics, clinical research",
     "Clinical and translational cancer research."),
]

CN_MEMBERS = ["Zhang Hui", "Wang Chen", "Liu Chang", "Chen Si", "Yang Liu", "Zhao Ning", "Wu Di",
              "Zhou Yang", "Sun Yue", "Zhu Lin", "Hu Yue", "Xie Qian"]
BE_MEMBERS = ["Camille Leroy", "Lucas Martin", "Louise Gérard", "Arthur Wilmet", "Chloé Henrard",
              "Noah Dethier", "Juliette Massart", "Romain Jadot", "Zoé Pirard", "Simon Hardy"]
CAREER_STAGES = [("co-investigator", "Associate professor"),
                 ("researcher", "Postdoctoral researcher"), ("researcher", "PhD student"),
                 ("engineer", "Research engineer")]


# --- proposals ------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """One demo proposal and what becomes of it."""

    acronym: str
    title: str
    topic: str  # health, materials, environment, ict, agri
    keywords: str
    abstract: str
    cn: str | None
    be: str | None
    amounts: tuple[int, int]
    fate: str
    scores: tuple[float, float] | None = None  # target mean score per side (CN, BE)
    reason: str = ""  # for ineligible (side code first: "BE: ...") and withdrawn
    starter: str = "CN"


CALL_2021 = [
    Spec("MICROCRC", "Gut microbiome signatures of early-onset colorectal cancer in Chinese and "
         "Belgian cohorts", "health", "colorectal cancer, microbiome, metagenomics, cohort study",
         "The incidence of colorectal cancer in adults under 50 is rising in both China and "
         "Europe. "
         "MICROCRC will compare the gut microbiome (shotgun metagenomics and metabolomics) of "
         "early-onset patients and matched controls in a Shanghai cohort (Fudan University) and a "
         "Brussels cohort (ULB). Analysing both populations with one pipeline will separate the "
         "microbial signatures of the disease from those of diet and geography. The project "
         "includes the exchange of two bioinformaticians and a joint workshop on the protection "
         "of cross-border health data.",
         "liu.fang", "julien.lefevre", (400000, 20000), "funded", (4.1, 4.0)),
    Spec("PEROSTAB", "Stable perovskite–silicon tandem solar cells for outdoor operation",
         "materials",
         "perovskite, tandem solar cells, stability, encapsulation",
         "Perovskite–silicon tandem cells exceed 29% efficiency in the laboratory but still "
         "degrade "
         "within months outdoors. PEROSTAB combines the Tsinghua team's low-temperature deposition "
         "of wide-bandgap perovskites with the UMONS team's expertise in interface chemistry and "
         "accelerated ageing. Together we will design passivation layers that block ion migration, "
         "test encapsulation under the damp-heat and UV protocols of IEC 61215, and compare field "
         "data from Beijing and Mons. Two PhD students will spend three months a year in the "
         "partner laboratory. Target: mini-modules keeping 90% of their efficiency after 1,000 "
         "hours of damp heat.",
         "li.ming", "isabelle.mertens", (380000, 19500), "funded", (4.4, 4.2), starter="BE"),
    Spec("RIVERPLAST", "Microplastic transport and fate in the Yangtze and Meuse river basins",
         "environment", "microplastics, rivers, sediments, transport modelling",
         "Rivers carry most of the plastic that reaches the sea, but the transport of "
         "microplastics "
         "in large basins is poorly quantified. RIVERPLAST will sample water and sediments along "
         "the lower Yangtze and the Meuse with harmonised protocols, identify particles by "
         "micro-FTIR spectroscopy and model their transport and deposition. Nanjing University "
         "runs long-term sampling stations on the Yangtze; UNamur studies the Meuse and its "
         "tributaries.",
         "zhou.ting", "aurelie.denis", (280000, 15000), "not_recommended", (3.4, 2.6)),
    Spec("LIVERCELL", "Single-cell atlas of liver regeneration after partial hepatectomy", "health",
         "liver regeneration, single-cell RNA sequencing, spatial transcriptomics",
         "The liver is the only human organ able to regenerate after partial removal. LIVERCELL "
         "will build a single-cell atlas of regeneration after partial hepatectomy, combining "
         "single-cell RNA sequencing (Sun Yat-sen University) with spatial transcriptomics "
         "(ULiège, GIGA). The atlas will identify the cell populations and signals that drive "
         "regeneration and will be shared as an open resource.",
         "huang.xiaoyan", "antoine.lemaire", (400000, 20000), "ineligible",
         reason=("BE: The Belgian PI's fixed-term contract ends in September 2022, before the "
                 "end of the project, and the host institution gave no written commitment to "
                 "extend it.")),
    Spec("AIRCAST", "Machine-learning forecasts of urban air quality from satellite and ground "
         "observations", "ict", "air quality, PM2.5, ozone, deep learning, Sentinel-5P",
         "PM2.5 and ozone episodes are still forecast with chemical-transport models whose errors "
         "grow quickly beyond 48 hours. AIRCAST trains machine-learning models on satellite "
         "aerosol "
         "retrievals (Sentinel-5P, Himawari-8), ground monitoring networks and meteorological "
         "reanalyses to forecast urban air quality up to five days ahead in the Beijing–Tianjin–"
         "Hebei region and in Belgium. The Tsinghua team contributes emission inventories and the "
         "Chinese monitoring data; the UCLouvain team its expertise in remote sensing and deep "
         "learning for Earth observation. The code will be released as open source.",
         "chen.yu", "sophie.lambert", (360000, 18000), "funded", (4.3, 4.5)),
    Spec("GRIDGNN", "Graph neural networks for fault localisation in distribution grids", "ict",
         "power distribution, fault localisation, graph neural networks, smart grids",
         "Distribution grids host ever more solar panels and electric-vehicle chargers, which "
         "makes "
         "faults harder to locate. GRIDGNN represents the grid as a graph and trains graph neural "
         "networks on simulated and measured fault data to locate faults from a few synchronised "
         "measurements. Xi'an Jiaotong University provides data from a pilot grid in Shaanxi; "
         "UMONS contributes its power-system simulation platform and data from Walloon "
         "distribution operators. A public benchmark data set will be released.",
         "hu.bin", "olivier.fontaine", (350000, 18000), "reserve", (3.7, 3.6)),
    Spec("DEEPRETINA", "Deep learning for the screening of diabetic retinopathy in primary care",
         "ict", "diabetic retinopathy, deep learning, screening, primary care",
         "Diabetic retinopathy is a leading cause of blindness and screening capacity in primary "
         "care is limited. DEEPRETINA will train and validate deep-learning models on retinal "
         "photographs from Shanghai community clinics and Belgian screening programmes, with a "
         "focus on robustness across cameras and populations.",
         "yang.fan", "valerie.gilson", (340000, 18500), "withdrawn",
         reason="Our clinical partner in Belgium left the consortium after submission; we will "
                "apply again with a new partner."),
    Spec("PEATFLUX", "Carbon and water fluxes of high-altitude and temperate peatlands under "
         "recurrent drought", "environment", "peatlands, eddy covariance, methane, drought",
         "Peatlands store a third of the soil carbon on Earth, yet their response to repeated "
         "droughts is poorly known. PEATFLUX couples eddy-covariance measurements in the Zoige "
         "plateau peatlands (IGSNRR, CAS) with the long-term flux station of the Hautes Fagnes "
         "(ULiège – Gembloux Agro-Bio Tech) to compare a high-altitude and a temperate bog. Shared "
         "protocols, cross-calibrated instruments and a common model will quantify how drought "
         "length and water-table depth control CO2 and methane emissions.",
         "feng.zhiqiang", "pierre.collard", (320000, 17500), "funded", (4.0, 4.1)),
    Spec("QSIOT", "Lightweight post-quantum cryptography for Internet-of-Things devices", "ict",
         "post-quantum cryptography, IoT, side channels, microcontrollers",
         "Internet-of-Things devices will have to resist attacks by quantum computers, but "
         "post-quantum algorithms are heavy for microcontrollers. QSIOT will optimise "
         "lattice-based "
         "key exchange and signatures for 32-bit microcontrollers and evaluate their resistance to "
         "side-channel attacks. Beihang University brings hardware security expertise, ULB its "
         "experience of cryptographic implementations.",
         "gao.xiang", "maxime.lejeune", (330000, 17000), "not_recommended", (1.9, 3.3)),
    Spec("NACATH", "Sodium-ion battery cathodes from earth-abundant elements", "materials",
         "sodium-ion batteries, cathodes, first-principles modelling, energy storage",
         "Sodium-ion batteries could relieve the pressure on lithium and cobalt for stationary "
         "storage. NACATH develops layered-oxide and polyanion cathodes made only of "
         "earth-abundant "
         "elements (Na, Fe, Mn, Ti). The USTC team synthesises the materials and characterises "
         "them "
         "by in-situ X-ray diffraction; the UCLouvain team models their stability from first "
         "principles and assembles full cells. Target: 140 mAh/g over 2,000 cycles, and a shared "
         "screening database of compositions.",
         "wu.hao", "elodie.moreau", (390000, 19800), "funded", (4.0, 4.0), starter="BE"),
    Spec("HEATCITY", "Urban heat islands in Brussels and Wuhan: coupled climate and "
         "building-energy modelling", "environment",
         "urban heat island, urban climate, building energy, mitigation",
         "Urban heat islands amplify heat waves, with growing health and energy costs. HEATCITY "
         "couples an urban climate model with building-energy simulation to compare Brussels and "
         "Wuhan, two cities with contrasting climates and urban forms, and tests mitigation "
         "scenarios: green roofs, cool pavements and street trees.",
         "xu.min", "catherine.simon", (300000, 18000), "ineligible",
         reason=("CN: The project was not registered in the MOST national S&T management "
                 "information system by the national deadline.")),
    Spec("MOFCAP", "Water-stable metal–organic frameworks for post-combustion CO2 capture",
         "materials", "metal–organic frameworks, CO2 capture, adsorption, life-cycle assessment",
         "Metal–organic frameworks capture CO2 selectively, but most lose their capacity in humid "
         "flue gas. MOFCAP will design water-stable frameworks with amine-functionalised pores "
         "(Institute of Chemistry, CAS) and shape them into structured adsorbents tested in a "
         "pilot "
         "rig at ULiège. A life-cycle assessment will compare the process with amine scrubbing. "
         "Two PhD students will each spend three months a year in the partner laboratory.",
         "zheng.hong", "claire.dupont", (400000, 20000), "reserve", (3.6, 3.7), starter="BE"),
    Spec("HEALCOMP", "Self-healing polymer composites for lightweight vehicles", "materials",
         "self-healing materials, composites, fatigue, lightweight structures",
         "Self-healing polymer composites could extend the life of lightweight structures in "
         "vehicles. HEALCOMP will embed microcapsules and vascular networks in carbon-fibre epoxy "
         "composites (Harbin Institute of Technology) and characterise their healing under "
         "fatigue loading (UMONS).",
         "ma.jun", "caroline.delvaux", (360000, 19000), "not_recommended", (2.6, 2.5)),
    Spec("NANOASF", "Nanobody-based rapid diagnostics for African swine fever", "health",
         "African swine fever, nanobodies, lateral-flow test, veterinary diagnostics",
         "African swine fever has devastated pig farming in China and reached wild boar in "
         "southern "
         "Belgium in 2018. No vaccine exists, so early detection is essential. NANOASF will select "
         "camelid nanobodies against conserved viral proteins (UNamur) and develop them into "
         "lateral-flow tests usable on farms and in the field (China Agricultural University). The "
         "tests will be validated on archived samples from both outbreaks.",
         "sun.li", "nicolas.renard", (300000, 16000), "funded", (4.0, 4.1)),
]

CALL_2022 = [
    Spec("REECYCLE", "Recovery of rare-earth elements from electronic waste by combined bio- and "
         "hydrometallurgy", "materials", "rare-earth elements, recycling, bioleaching, e-waste",
         "Rare-earth elements are critical for magnets and electronics, yet less than 1% is "
         "recycled. REECYCLE exchanges researchers between Central South University, which "
         "develops hydrometallurgical recovery processes, and UNamur, which studies bioleaching by "
         "acidophilic bacteria, to test combined routes on shredded hard disks and fluorescent "
         "lamps. Four research stays of one to three months and a joint workshop in Changsha are "
         "planned.",
         "tang.yu", "anne.remacle", (90000, 7500), "in_review", (3.8, 3.6)),
    Spec("HARDCARB", "Hard-carbon anodes from biomass for sodium-ion batteries", "materials",
         "hard carbon, sodium-ion batteries, biomass, pyrolysis",
         "Hard carbon is the anode of choice for sodium-ion batteries, but its performance depends "
         "strongly on the biomass precursor. HARDCARB compares hard carbons made from rice husk, "
         "bamboo and Belgian wood waste, combining the pyrolysis expertise of Dalian University of "
         "Technology with electrochemical characterisation at UCLouvain. The exchanges will train "
         "two PhD students in both techniques.",
         "deng.chao", "benoit.legrand", (85000, 7000), "in_review", (3.9, 4.0), starter="BE"),
    Spec("LC3CEM", "Low-carbon cements from calcined clays and limestone", "environment",
         "low-carbon cement, calcined clay, LC3, durability, life-cycle assessment",
         "Cement production emits about 8% of global CO2; limestone calcined clay cement can cut "
         "these emissions by up to 40%. LC3CEM exchanges researchers between Tongji University and "
         "UMONS to characterise local clays of both regions, test their reactivity and durability, "
         "and compare life-cycle emissions. The mobility plan includes two PhD stays and a joint "
         "summer school.",
         "he.xue", "jerome.lacroix", (95000, 8000), "in_review", (3.7, 3.8)),
    Spec("FLOODWARN", "Flash-flood early warning from coupled hydrological and machine-learning "
         "models", "environment", "flash floods, early warning, nowcasting, hydrological modelling",
         "The floods of July 2021 struck both the Vesdre valley in Belgium and Zhengzhou in China. "
         "FLOODWARN brings together the hydrologists of Huazhong University of Science and "
         "Technology and the remote-sensing team of UCLouvain to couple hydrological models with "
         "machine-learning nowcasting of extreme rainfall. The exchanges focus on sharing the "
         "event "
         "data and co-developing an early-warning prototype for small catchments.",
         "luo.jun", "sophie.lambert", (80000, 6500), "reviewed", (4.1, 3.9), starter="BE"),
    Spec("PHENOWHEAT", "High-throughput phenotyping of drought tolerance in wheat", "agri",
         "wheat, drought tolerance, phenotyping, drones, thermal imaging",
         "Drought increasingly limits wheat yields in northern China and, more recently, in "
         "western "
         "Europe. PHENOWHEAT exchanges researchers between Northwest A&F University and Gembloux "
         "Agro-Bio Tech (ULiège) to share high-throughput phenotyping methods (drones, thermal and "
         "root imaging) and phenotype a common panel of 200 varieties in both field stations.",
         "cao.ying", "pierre.collard", (75000, 6000), "reviewed", (3.5, 3.5)),
    Spec("FLUHOST", "CRISPR screens of host factors in avian influenza infection", "health",
         "avian influenza, CRISPR screens, host factors, organoids",
         "Avian influenza viruses keep crossing into mammals. FLUHOST uses genome-wide CRISPR "
         "screens in human airway cells to identify host factors needed by H5 and H9 viruses. "
         "Sichuan University runs the screens in its biosafety facilities; UNamur validates the "
         "candidate factors in airway organoids. Two postdoctoral researchers will be exchanged.",
         "guo.peng", "francois.hermans", (100000, 8000), "recommended", (4.3, 4.2)),
    Spec("SINOFR-MT", "Machine translation between Chinese and French for scientific texts", "ict",
         "machine translation, Chinese, French, language models, parallel corpus",
         "Machine translation between Chinese and French remains weak for scientific texts because "
         "parallel corpora are small. SINOFR-MT builds a parallel corpus of scientific abstracts "
         "and fine-tunes multilingual language models, with human evaluation by translators of "
         "both teams (Peking University and ULB). PhD students in computational linguistics will "
         "spend research stays in the partner team.",
         "zhang.wei", "sarah.piron", (70000, 6000), "recommended", (4.0, 4.1)),
    Spec("LIVERCHIP", "Organ-on-chip models of drug-induced liver injury", "health",
         "organ-on-chip, hepatotoxicity, microfluidics, drug safety",
         "Drug-induced liver injury is a major cause of drug withdrawal. LIVERCHIP combines the "
         "liver-on-chip platform of Nankai University with the hepatotoxicity expertise and human "
         "hepatocyte models of UCLouvain to predict liver injury from candidate drugs, including "
         "compounds used in traditional Chinese medicine. Researchers will spend up to three "
         "months in the partner laboratory.",
         "han.mei", "laurent.dubois", (95000, 7800), "recommended", (3.9, 4.0), starter="BE"),
    Spec("TEADRONE", "Hyperspectral drone monitoring of tea plantations and vineyards", "agri",
         "hyperspectral imaging, drones, tea, vineyards, plant stress",
         "Tea gardens and vineyards are high-value perennial crops sensitive to disease and water "
         "stress. TEADRONE exchanges know-how on hyperspectral drone imaging between Xiamen "
         "University and ULiège to detect early stress symptoms in tea plantations in Fujian and "
         "in Walloon vineyards.",
         "lin.feng", "celine.bodart", (80000, 7000), "not_recommended", (3.3, 2.6)),
    Spec("EDGECOW", "Edge AI for precision dairy farming", "agri",
         "edge computing, precision livestock farming, dairy cows, sensors",
         "Precision dairy farming relies on sensors that send large amounts of data to the cloud. "
         "EDGECOW explores edge-AI models running on collar devices to detect lameness and heat in "
         "dairy cows, with trials in Jilin province and on partner farms of UMONS in Hainaut.",
         "song.tao", "david.cornet", (60000, 5000), "not_recommended", (2.6, 2.8)),
    Spec("MAGIMPLANT", "Biodegradable magnesium implants for bone repair", "materials",
         "magnesium alloys, biodegradable implants, corrosion, biocompatibility",
         "Biodegradable magnesium alloys could replace titanium screws in bone surgery and spare "
         "patients a second operation. MAGIMPLANT exchanges researchers between Southeast "
         "University and UCLouvain to study the corrosion and biocompatibility of coated Mg–Zn–Ca "
         "alloys.",
         "peng.bo", "valerie.gilson", (90000, 7000), "ineligible",
         reason="CN: The Chinese PI already leads an ongoing MOST inter-governmental project with "
                "Belgium; a PI may lead only one at a time."),
]

HEATWISE_ABSTRACT = (
    "Cities in northern China and western Europe face longer and hotter heat waves. HEATWISE sets "
    "up two living labs, in a Beijing district and a Brussels neighbourhood, to measure how "
    "nature-based solutions (street trees, green roofs, permeable pavements) cool the urban "
    "climate and what they cost. The Tsinghua team brings dense sensor networks and urban climate "
    "modelling; the UCLouvain team brings satellite thermal imagery and the evaluation of "
    "ecosystem services. Results will be turned into design guidelines with both municipalities."
)
HEATWISE_ADDITION = (
    " Citizens will take part in the measurements with low-cost sensors, and a joint summer school "
    "will train young researchers of both sides."
)

CALL_2023 = [
    Spec("HEATWISE", "Cooling cities with nature-based solutions: living labs in Beijing and "
         "Brussels", "environment", "urban heat island, nature-based solutions, living labs, "
         "ecosystem services", HEATWISE_ABSTRACT,
         "chen.yu", "sophie.lambert", (420000, 22000), "draft:both-pis"),
    Spec("DUSTNET", "Forecasting dust storms over northern China with physics-informed neural "
         "networks", "ict", "dust storms, aerosols, physics-informed neural networks, forecasting",
         "Dust storms from the Gobi and Taklimakan deserts regularly reach Beijing. DUSTNET will "
         "forecast dust emission and transport with physics-informed neural networks that respect "
         "mass conservation, trained on satellite retrievals and ground observations. The Belgian "
         "partner will contribute its expertise in aerosol remote sensing.",
         "chen.yu", None, (380000, 20000), "draft:partner-invited"),
    Spec("XAI-ABX", "Explainable AI for antibiotic prescription in hospitals", "health",
         "antimicrobial stewardship, explainable AI, electronic health records",
         "Antibiotics are often prescribed empirically in hospitals, which drives resistance. "
         "XAI-ABX will develop explainable machine-learning models that suggest narrow-spectrum "
         "treatments from electronic health records, and evaluate them with clinicians.",
         None, "julien.lefevre", (0, 21000), "draft:no-partner", starter="BE"),
    Spec("SOLIDLI", "Solid-state electrolytes for lithium-metal batteries", "materials",
         "solid-state electrolytes, lithium metal, interfaces", "",
         "wang.lei", "elodie.moreau", (450000, 24000), "draft:in-progress"),
    Spec("NEUROMEM", "Neuromorphic computing with memristive oxide devices", "ict",
         "neuromorphic computing, memristors, spiking neural networks",
         "Neuromorphic hardware could run AI models with a fraction of the energy of GPUs. "
         "NEUROMEM "
         "develops memristive oxide devices (Beihang University) and spiking-network training "
         "methods robust to their variability (ULB), and will demonstrate a small on-chip "
         "classifier for sensor data.",
         "gao.xiang", "maxime.lejeune", (480000, 24000), "submitted"),
    Spec("BIOCHARS", "Soil carbon sequestration with biochar in cereal rotations", "agri",
         "biochar, soil carbon, nitrous oxide, crop rotations",
         "Biochar made from crop residues can store carbon in soils for centuries and improve "
         "fertility. BIOCHARS compares long-term biochar field trials in the North China Plain "
         "(China Agricultural University) and in Wallonia (Gembloux Agro-Bio Tech) to quantify "
         "carbon persistence, nitrous-oxide emissions and yields in wheat–maize and wheat–sugar "
         "beet rotations.",
         "sun.li", "pierre.collard", (350000, 19000), "submitted:cn-checked", starter="BE"),
    Spec("AMR-WATER", "Antimicrobial resistance in urban wastewater: a One Health comparison",
         "health", "antimicrobial resistance, wastewater, metagenomics, One Health",
         "Urban wastewater is a hotspot of antimicrobial resistance. AMR-WATER will monitor "
         "resistance genes and resistant bacteria in the wastewater of Jinan and Namur with the "
         "same metagenomic methods, relate them to antibiotic use and evaluate how well treatment "
         "plants remove them.",
         "liang.jing", "aurelie.denis", (300000, 17000), "submitted"),
    Spec("PHOTOH2", "Photocatalytic hydrogen production from seawater", "materials",
         "photocatalysis, hydrogen, seawater splitting, surface spectroscopy",
         "Producing hydrogen by photocatalytic splitting of seawater would avoid competing for "
         "fresh water. PHOTOH2 will design chloride-tolerant photocatalysts (Institute of "
         "Chemistry, CAS) and study their surface chemistry and stability by advanced spectroscopy "
         "(UMONS).",
         "zheng.hong", "isabelle.mertens", (500000, 25000), "eligible"),
    Spec("TWINFAB", "Digital twins of reconfigurable manufacturing lines", "ict",
         "digital twins, Industry 4.0, hybrid modelling, manufacturing",
         "Digital twins promise to make flexible manufacturing lines easier to reconfigure. "
         "TWINFAB builds on the teams' earlier joint work on grid data to develop digital twins "
         "that combine physics-based models with machine learning, tested on a pilot line in "
         "Xi'an and on the UMONS Industry 4.0 platform.",
         "hu.bin", "olivier.fontaine", (420000, 23000), "eligible", starter="BE"),
    Spec("GLACIO", "Glacier mass balance of the Tibetan Plateau from satellite gravimetry",
         "environment", "glaciers, Tibetan Plateau, GRACE-FO, altimetry, water resources",
         "Glaciers of the Tibetan Plateau feed Asia's great rivers. GLACIO combines satellite "
         "gravimetry (GRACE-FO), altimetry and field measurements to estimate glacier mass balance "
         "and its contribution to river discharge.",
         "feng.zhiqiang", "celine.bodart", (400000, 20000), "ineligible",
         reason="BE: The Belgian PI is professor emerita and holds no position covering the "
                "project's duration, as the WBI rules require."),
    Spec("NATPRO-TB", "Natural products against drug-resistant tuberculosis", "health",
         "tuberculosis, natural products, drug resistance, drug discovery",
         "Multidrug-resistant tuberculosis needs new drugs. NATPRO-TB screens natural products "
         "from Chinese medicinal plants against resistant Mycobacterium tuberculosis strains and "
         "studies their mode of action.",
         "guo.peng", "laurent.dubois", (380000, 20000), "withdrawn",
         reason="The Chinese team has just received national funding for the same work; we "
                "withdraw to avoid double funding."),
]

COMMENTS = {
    "strong": [
        ("A convincing joint project. {acronym} addresses a relevant question with a sound "
         "methodology, and the two teams are genuinely complementary. The mobility plan is well "
         "balanced between both sides. I encourage the applicants to agree on data sharing early."),
        ("Excellent proposal: ambitious but realistic objectives, work packages clearly shared "
         "between the Chinese and Belgian teams, and a strong training component for young "
         "researchers. The expected joint publications are credible."),
    ],
    "good": [
        ("A solid proposal with clear objectives and complementary teams. The work plan for the "
         "second year is less detailed and the main risks are not discussed; a fallback for the "
         "key experiment would strengthen it."),
        ("Good scientific quality overall. The impact section would benefit from concrete "
         "dissemination and exploitation measures; the exchange of young researchers is well "
         "planned."),
    ],
    "weak": [
        ("The topic is relevant, but the proposal remains descriptive: the hypotheses are not "
         "stated and the methodology is not detailed enough. The role of the partner team is "
         "unclear."),
        ("The project reads as two national projects side by side rather than a joint one; the "
         "added value of the cooperation is not demonstrated and the budget is poorly justified."),
    ],
}
CONFIDENTIAL = {
    "strong": "Strong teams with a track record; I would fund this project.",
    "good": "Fundable if the budget allows.",
    "weak": "Not a priority for funding.",
}


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _email_for(person: Person) -> str:
    if person.email:
        return person.email
    return _ascii(person.name).lower().replace(" ", ".").replace("'", "") + "@example.org"


def _band(score: Decimal) -> str:
    if score >= Decimal(4):
        return "strong"
    if score >= Decimal(3):
        return "good"
    return "weak"


def _half_points(value: float) -> Decimal:
    doubled = (Decimal(str(value)) * 2).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return min(Decimal(5), max(Decimal(0), doubled / 2)).quantize(Decimal("0.1"))


# --- the seed -------------------------------------------------------------------------

def seed_demo() -> bool:
    """Fill an empty database with the demo; False (and nothing done) if it is not empty."""
    if db.session.scalar(sa.select(Agency.id).limit(1)) is not None:
        return False
    app = current_app._get_current_object()
    with contextlib.ExitStack() as stack:
        if not has_request_context():  # the operations build links for their emails
            stack.enter_context(app.test_request_context(base_url=app.config["BASE_URL"]))
        _DemoSeed(utcnow()).run()
        db.session.commit()
    return True


class _DemoSeed:
    def __init__(self, now: datetime):
        self.now = now
        self.today = to_zone(now, BRUSSELS).date()
        self.rng = random.Random(20210714)  # content: teams, scores, comments
        self.clock = random.Random(14072021)  # when things happened within their window
        self.topic_of: dict[int, str] = {}  # proposal id -> topic, to match reviewers
        self.users: dict[str, User] = {}
        self.password_hash: str | None = None
        self.reviewers: dict[str, list[User]] = {}
        self.reviewer_topics: dict[str, set[str]] = {}  # by email

    # time ----------------------------------------------------------------------------

    @staticmethod
    def at(day: date, hour: int = 12, minute: int = 0, zone: str = BRUSSELS) -> datetime:
        return local_to_utc(datetime.combine(day, time(hour, minute)), zone)

    def days_from_now(self, days: int, hour: int = 12, minute: int = 0) -> datetime:
        return self.at(self.today + timedelta(days=days), hour, minute)

    def mail_mark(self) -> int:
        db.session.flush()
        return db.session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0

    def backdate_mail(self, since_id: int, when: datetime) -> None:
        """Emails written while replaying a past event carry that event's date."""
        db.session.flush()
        query = sa.select(OutboxMessage).where(OutboxMessage.id > since_id)
        for message in db.session.scalars(query):
            message.created_at = when

    # the whole story -----------------------------------------------------------------

    def run(self) -> None:
        self.world()
        self.accounts()
        self.researchers()
        self.reviewer_pools()
        self.call_2021()
        self.fifth_meeting()
        self.call_2022()
        self.sixth_meeting()
        self.call_2023()
        self.call_2024()
        db.session.flush()

    def world(self) -> None:
        self.cn = Agency(
            code="CN", short_name="MOST",
            name="Ministry of Science and Technology of the People's Republic of China",
            country="China", currency="CNY", timezone=SHANGHAI, locale="zh")
        self.be = Agency(code="BE", short_name="WBI", name="Wallonia-Brussels International",
                         country="Belgium", currency="EUR", timezone=BRUSSELS, locale="fr")
        agreement = Agreement(
            title="Agreement on scientific and technological cooperation between the People's "
                  "Republic of China and Wallonia-Brussels",
            agency_a=self.cn, agency_b=self.be,
        )
        self.committee = JointCommittee(
            agreement=agreement,
            name="Joint Committee for Science and Technology Cooperation between China and "
                 "Wallonia-Brussels",
        )
        db.session.add_all([self.cn, self.be, agreement, self.committee])
        db.session.flush()
        self.agency = {"CN": self.cn, "BE": self.be}

    def user(self, key: str, person: Person, agency: Agency | None, roles, *,
             locale: str = "en", timezone: str | None = None) -> User:
        # Established accounts: their email addresses are verified.
        user = User(email=_email_for(person), name=person.name, name_original=person.name_original,
                    title=person.title or None, affiliation=person.institution, agency=agency,
                    locale=locale, timezone=timezone, email_verified_at=self.now)
        # One argon2 hash for every demo account: they share the demo password.
        if self.password_hash is None:
            user.set_password(DEMO_PASSWORD)
            self.password_hash = user.password_hash
        else:
            user.password_hash = self.password_hash
        for role in roles:
            user.grant(role, agency if role in (Role.staff, Role.reviewer, Role.cochair) else None)
        db.session.add(user)
        self.users[key] = user
        return user

    def accounts(self) -> None:
        cn, be = self.cn, self.be
        admin = Person("Demo Administrator", "cfp", email="admin@example.org")
        self.admin = self.user("admin", admin, None, [Role.admin])
        self.secretariat = self.user(
            "secretariat", Person("Hélène Dumont", "Joint Committee secretariat",
                                  title="Secretary of the Joint Committee",
                                  email="secretariat@example.org"),
            None, [Role.secretariat], timezone=BRUSSELS)
        self.zhao = self.user(
            "zhao", Person("Zhao Jing", "Ministry of Science and Technology (MOST)", "赵静",
                           "Deputy Director-General, Department of International Cooperation",
                           "zhao.jing@example.org"), cn, [Role.cochair])
        self.carette = self.user(
            "carette", Person("Christian Carette", "Wallonia-Brussels International (WBI)", None,
                              "Deputy Director-General", "christian.carette@example.org"),
            be, [Role.cochair])
        self.staff_cn = self.user(
            "staff_cn", Person("Sun Wei", "Ministry of Science and Technology (MOST)", "孙伟",
                               "Programme Officer, Department of International Cooperation",
                               "staff.most@example.org"), cn, [Role.staff])
        self.staff_be = self.user(
            "staff_be", Person("Julie Marchal", "Wallonia-Brussels International (WBI)", None,
                               "Programme Officer, Bilateral Cooperation — Asia",
                               "staff.wbi@example.org"), be, [Role.staff])
        db.session.flush()

    def researchers(self) -> None:
        self.pis: dict[str, User] = {}
        for side, people in (("CN", CN_PIS), ("BE", BE_PIS)):
            agency = self.agency[side]
            for key, person in people.items():
                demo = person.email is not None
                self.pis[key] = self.user(key, person, agency, [Role.researcher],
                                          locale="en" if demo else agency.locale)
        db.session.flush()

    def reviewer_pools(self) -> None:
        for side, pool in (("CN", CN_REVIEWERS), ("BE", BE_REVIEWERS)):
            agency = self.agency[side]
            users = []
            for person, topics, keywords, expertise in pool:
                demo = person.email is not None
                user = self.user(_email_for(person), person, agency, [Role.reviewer],
                                 locale="en" if demo else agency.locale)
                db.session.add(ReviewerProfile(user=user, agency_id=agency.id, keywords=keywords,
                                               expertise=expertise, max_load=8))
                users.append(user)
                self.reviewer_topics[user.email] = topics
            self.reviewers[side] = users
        db.session.flush()
        self.reviewer_cn = self.users["reviewer.cn@example.org"]
        self.reviewer_be = self.users["reviewer.be@example.org"]

    # calls ---------------------------------------------------------------------------

    CRITERIA: ClassVar[list[CriterionTerms]] = [
        CriterionTerms("Excellence", Decimal(3), Decimal(3),
                       "Scientific quality, novelty and ambition; qualifications of both teams."),
        CriterionTerms("Impact", Decimal(2), None,
                       "Expected results, publications, training of young researchers, "
                       "benefits for society and the economy of both sides."),
        CriterionTerms("Implementation", Decimal(1), None,
                       "Work plan, mobility plan, budget and management of risks."),
        CriterionTerms("Complementarity of the teams", Decimal(1), None,
                       "Added value of the cooperation: what each team brings and gains."),
    ]

    def side_terms(self, side: str, envelope: int, cap: int, per_diem: int,
                   travel: int) -> SideTerms:
        if side == "CN":
            return SideTerms(
                agency_id=self.cn.id, budget_envelope=Decimal(envelope), max_request=Decimal(cap),
                per_diem=Decimal(per_diem), travel_cap=Decimal(travel), reviewers_per_proposal=2,
                eligibility_rules=(
                    "The Chinese PI holds a permanent position at a university or research "
                    "institute registered in mainland China.\n"
                    "The project is registered in the MOST national S&T management information "
                    "system before the deadline.\n"
                    "A PI may lead only one ongoing inter-governmental project with Belgium."),
                required_documents=["Application form (Chinese version)",
                                    "Letter of support of the host institution"],
                max_document_pages=30,
                eligibility_rule_config=[{"rule": "pi_has_phd"}, {"rule": "affiliation_in_country"},
                                         {"rule": "duration_within", "min": 12, "max": 36}],
            )
        return SideTerms(
            agency_id=self.be.id, budget_envelope=Decimal(envelope), max_request=Decimal(cap),
            per_diem=Decimal(per_diem), travel_cap=Decimal(travel), reviewers_per_proposal=2,
            eligibility_rules=(
                "The Belgian PI holds a position at a university of the Wallonia-Brussels "
                "Federation (UCLouvain, ULB, ULiège, UMONS, UNamur, UCLouvain Saint-Louis) or at "
                "a Walloon research centre.\n"
                "The PI's position covers the whole duration of the project."),
            required_documents=["Application form (English)", "CV of the PI (2 pages)",
                                "Letter of commitment of the host institution"],
            max_document_pages=20,
            eligibility_rule_config=[{"rule": "pi_has_phd"}, {"rule": "affiliation_in_country"},
                                     {"rule": "documents_present"}],
        )

    def areas(self, call: Call) -> dict[str, int]:
        topics = ["health", "materials", "environment", "ict", "agri"]
        # The calls list their areas in this order (later calls add "Agriculture & food").
        return {topic: area.id for topic, area in zip(topics, call.priority_areas, strict=False)}

    # proposals -----------------------------------------------------------------------

    def add_team(self, proposal: Proposal, spec: Spec) -> None:
        """Team members, mobility plan and budget lines, as the applicants would enter them."""
        rng = self.rng
        years = max(1, (proposal.call.duration_months + 11) // 12)
        for side, pool, pi_key, people in (("CN", CN_MEMBERS, spec.cn, CN_PIS),
                                           ("BE", BE_MEMBERS, spec.be, BE_PIS)):
            if pi_key is None:
                continue
            agency = self.agency[side]
            for name in rng.sample(pool, rng.choice([1, 2, 2, 3])):
                role, stage = rng.choice(CAREER_STAGES)
                proposal.members.append(ProposalMember(
                    agency_id=agency.id, name=name, role=role, career_stage=stage,
                    affiliation=people[pi_key].institution))
        for year in range(1, years + 1):
            proposal.trips.append(MobilityTrip(
                from_agency_id=self.cn.id, to_agency_id=self.be.id, year=year,
                traveller="Chinese PI" if year == 1 else "PhD student of the Chinese team",
                days=rng.choice([10, 14, 21, 30])))
            proposal.trips.append(MobilityTrip(
                from_agency_id=self.be.id, to_agency_id=self.cn.id, year=year,
                traveller=("Belgian PI" if year == 1
                           else "Postdoctoral researcher of the Belgian team"),
                days=rng.choice([7, 10, 14, 21])))
        # The budget lines leave room for each side's share of the mobility plan, so
        # that lines + mobility make the amount the applicants ask for.
        mobility = mobility_costs(proposal)
        for side, amount in zip(("CN", "BE"), spec.amounts, strict=True):
            amount = max(Decimal(0), Decimal(amount) - mobility[self.agency[side].id])
            if not amount:
                continue
            categories = (["International travel", "Per diem", "Research costs"] if side == "CN"
                          else ["Travel to China", "Stays of Chinese researchers in Belgium",
                                "Consumables"])
            shares = [Decimal("0.4"), Decimal("0.35")]
            per_year = money(Decimal(amount) / years)
            for year in range(1, years + 1):
                total = (per_year if year < years
                         else money(Decimal(amount) - per_year * (years - 1)))
                parts = [money(total * s) for s in shares]
                parts.append(total - sum(parts))
                for category, part in zip(categories, parts, strict=True):
                    db.session.add(BudgetLine(
                        proposal_id=proposal.id, agency_id=self.agency[side].id, year=year,
                        category=category, amount=part))

    def build_draft(self, call: Call, spec: Spec, created_at: datetime) -> Proposal:
        """A draft as start_proposal and join_proposal leave it, for a past call (start_proposal
        refuses a call whose submission window is not open now)."""
        cn_pi, be_pi = self.pis[spec.cn], self.pis[spec.be]
        creator = cn_pi if spec.starter == "CN" else be_pi
        proposal = Proposal(
            call=call, title=spec.title, acronym=spec.acronym, abstract=spec.abstract,
            keywords=spec.keywords, priority_area_id=self.areas(call)[spec.topic],
            duration_months=call.duration_months, created_by_id=creator.id,
            state=ProposalState.draft, created_at=created_at, updated_at=created_at,
        )
        proposal.sides = [
            ProposalSide(agency_id=self.cn.id, pi_user_id=cn_pi.id, institution=cn_pi.affiliation,
                         requested_amount=Decimal(spec.amounts[0]), pi_has_phd=True,
                         institution_country=self.cn.country),
            ProposalSide(agency_id=self.be.id, pi_user_id=be_pi.id, institution=be_pi.affiliation,
                         requested_amount=Decimal(spec.amounts[1]), pi_has_phd=True,
                         institution_country=self.be.country),
        ]
        db.session.add(proposal)
        db.session.flush()
        db.session.add(ProposalVersion(
            proposal_id=proposal.id, version=1, snapshot=snapshot(proposal),
            created_by_id=creator.id, created_at=created_at))
        self.add_team(proposal, spec)
        return proposal

    def add_documents(self, proposal: Proposal, uploaded_at: datetime) -> None:
        """The call's required documents of each side, as one-page PDFs in the upload folder."""
        from cfp.proposals.documents import demo_pdf, upload_folder
        from cfp.proposals.models import ProposalDocument

        for side in proposal.sides:
            call_side = proposal.call.side(side.agency_id)
            for kind in call_side.required_documents or []:
                data = demo_pdf(f"{proposal.acronym or proposal.title} — {kind}")
                stored = f"{secrets.token_hex(16)}.pdf"
                (upload_folder() / stored).write_bytes(data)
                proposal.documents.append(ProposalDocument(
                    agency_id=side.agency_id, kind=kind, original_name=f"{kind}.pdf", stored_name=stored,
                    size=len(data), sha256=hashlib.sha256(data).hexdigest(), pages=1,
                    uploaded_by_id=side.pi_user_id, uploaded_at=uploaded_at))
        db.session.flush()

    def confirm_and_submit(self, proposal: Proposal, spec: Spec, submitted_at: datetime) -> None:
        if not proposal.documents:
            self.add_documents(proposal, submitted_at - timedelta(days=3))
        for side in proposal.sides:
            confirm_proposal(side.pi, proposal, proposal.version)
            side.confirmed_at = submitted_at - timedelta(hours=self.clock.randint(2, 48))
        submitter = self.pis[spec.cn] if spec.starter == "CN" else self.pis[spec.be]
        submit_proposal(submitter, proposal, now=submitted_at)

    def decide(self, proposal: Proposal, side: str, eligible: bool, reason: str = "",
               when: datetime | None = None) -> None:
        staff = self.staff_cn if side == "CN" else self.staff_be
        check = next(c for c in proposal.eligibility_checks if c.agency_id == self.agency[side].id)
        decide_eligibility(staff, check, eligible, reason)
        if when is not None:
            check.decided_at = when

    def decide_from_fate(self, proposal: Proposal, spec: Spec, when: datetime) -> None:
        if spec.fate == "ineligible":
            bad_side, _sep, reason = spec.reason.partition(": ")
            good_side = "BE" if bad_side == "CN" else "CN"
            self.decide(proposal, good_side, True, when=when)
            self.decide(proposal, bad_side, False, reason, when=when + timedelta(hours=3))
        else:
            self.decide(proposal, "CN", True, when=when)
            self.decide(proposal, "BE", True, when=when + timedelta(hours=5))

    # reviews -------------------------------------------------------------------------

    def pick_reviewers(self, proposal: Proposal, side: str, load: dict[int, int], n: int,
                       exclude: set[int] = frozenset()) -> list[User]:
        spec_topic = self.topic_of[proposal.id]
        institutions = {s.institution.split(" – ")[0] for s in proposal.sides}
        candidates = [
            u for u in self.reviewers[side]
            if u.id not in exclude and u.affiliation.split(" – ")[0] not in institutions
        ]
        candidates.sort(key=lambda u: (spec_topic not in self.reviewer_topics[u.email],
                                       load.get(u.id, 0), u.name))
        chosen = candidates[:n]
        for u in chosen:
            load[u.id] = load.get(u.id, 0) + 1
        return chosen

    def scores_for(self, call: Call, target: float) -> dict[int, Decimal]:
        severity = self.rng.choice([-0.5, -0.25, 0.0, 0.25, 0.5])
        return {c.id: _half_points(target + severity + self.rng.choice([-0.5, 0.0, 0.0, 0.5]))
                for c in call.criteria}

    def comments(self, spec: Spec, score: Decimal) -> tuple[str, str, Recommendation]:
        band = _band(score)
        text = self.rng.choice(COMMENTS[band]).format(acronym=spec.acronym)
        recommendation = {"strong": Recommendation.fund, "good": Recommendation.fund_if_possible,
                          "weak": Recommendation.do_not_fund}[band]
        return text, CONFIDENTIAL[band], recommendation

    def past_review(self, call: Call, proposal: Proposal, spec: Spec, reviewer: User, side: str,
                    invited_at: datetime, submitted_at: datetime) -> Assignment:
        """A review submitted before a past due date: built as assign_reviewer,
        answer_invitation, declare_interests and save_review would leave it (they
        refuse a due date in the past)."""
        assignment = Assignment(
            proposal=proposal, reviewer=reviewer, agency_id=self.agency[side].id,
            state=AssignmentState.submitted, method=AssignmentMethod.automatic,
            due_at=call.review_due_at, invited_at=invited_at,
            answered_at=invited_at + timedelta(days=1),
            no_conflict_declared_at=invited_at + timedelta(days=1, hours=1),
            assigned_by_id=(self.staff_cn if side == "CN" else self.staff_be).id,
            created_at=invited_at, updated_at=submitted_at,
        )
        target = spec.scores[0 if side == "CN" else 1]
        review = Review(assignment=assignment, state=ReviewState.submitted,
                        submitted_at=submitted_at, created_at=submitted_at - timedelta(days=2),
                        updated_at=submitted_at)
        review.scores = [ReviewScore(criterion_id=cid, score=score)
                         for cid, score in self.scores_for(call, target).items()]
        review.weighted_score = weighted_score(review, call.criteria)
        (review.comments_to_applicants, review.confidential_comments,
         review.recommendation) = self.comments(spec, review.weighted_score)
        db.session.add_all([assignment, review])
        return assignment

    def review_now(self, call: Call, proposal: Proposal, spec: Spec, reviewer: User, side: str, *,
                   invited_at: datetime, end: str = "submitted",
                   submitted_at: datetime | None = None, conflict: str = "") -> Assignment:
        """A review of the current review round, through the real operations; `end` says where
        it stops: invited, declined, accepted, conflict, draft or submitted."""
        staff = self.staff_cn if side == "CN" else self.staff_be
        assignment = assign_reviewer(staff, proposal, reviewer, self.agency[side].id,
                                     call.review_due_at)
        assignment.invited_at = invited_at
        if end == "invited":
            return assignment
        answer_invitation(reviewer, assignment, end != "declined")
        assignment.answered_at = invited_at + timedelta(days=1)
        if end in ("declined", "accepted"):
            return assignment
        declare_interests(reviewer, assignment, end == "conflict", conflict)
        if end == "conflict":
            return assignment
        assignment.no_conflict_declared_at = invited_at + timedelta(days=1, hours=2)
        target = spec.scores[0 if side == "CN" else 1]
        scores = self.scores_for(call, target)
        weighted = sum((c.weight * scores[c.id] for c in call.criteria), Decimal(0))
        score = weighted / call.total_weight
        comments, confidential, recommendation = self.comments(spec, score)
        if end == "draft":
            scores = {cid: (value if i < 2 else None)
                      for i, (cid, value) in enumerate(scores.items())}
            comments = comments.split(". ")[0] + "."
        review = save_review(reviewer, assignment, scores, comments, confidential, recommendation,
                             submit=end == "submitted")
        if end == "submitted":
            review.submitted_at = submitted_at
            review.created_at = submitted_at - timedelta(days=1)
        return assignment

    # the 2021 call and the 5th meeting -----------------------------------------------

    def call_2021(self) -> None:
        cn, be = self.cn, self.be
        terms = CallTerms(
            reference="CN-BE-2021",
            title="Joint call for inter-governmental S&T cooperation projects 2021",
            description=(
                "Joint research projects between teams in China and in Wallonia-Brussels, under "
                "the Joint Committee for Science and Technology Cooperation. MOST funds the "
                "Chinese teams and WBI the teams of Wallonia-Brussels; each side mainly funds the "
                "mobility of its researchers and related research costs. Projects last two years; "
                "the list of projects is adopted by the Joint Committee at its 5th meeting."),
            opens_at=self.at(date(2021, 1, 15), 9),
            closes_at=self.at(date(2021, 3, 31), 17),
            review_due_at=self.at(date(2021, 5, 31), 23, 59),
            priority_areas=["Life sciences & health", "Advanced materials", "Environment & climate",
                            "ICT & artificial intelligence"],
            criteria=self.CRITERIA,
            sides=[self.side_terms("CN", 2400000, 400000, 600, 15000),
                   self.side_terms("BE", 120000, 20000, 120, 1200)],
            duration_months=24, overall_threshold=Decimal(3),
        )
        call = draft_call(self.staff_cn, self.committee, cn.id, terms)
        approve_call(self.staff_be, call)
        call.created_at = self.at(date(2020, 11, 20), 10, 0, SHANGHAI)
        call.side(cn).approved_at = call.created_at
        call.side(be).approved_at = self.at(date(2020, 12, 3), 15)
        open_call_if_due(call, now=call.opens_at)

        proposals: list[tuple[Proposal, Spec]] = []
        mail = self.mail_mark()
        submitted_at = self.at(date(2021, 2, 22), 10)  # 14 proposals, at most 2.4 days apart
        for spec in CALL_2021:
            submitted_at += timedelta(days=self.clock.randint(0, 2), hours=self.clock.randint(1, 9))
            started = submitted_at - timedelta(days=self.clock.randint(20, 45))
            proposal = self.build_draft(call, spec, started)
            self.topic_of[proposal.id] = spec.topic
            self.confirm_and_submit(proposal, spec, submitted_at)
            proposals.append((proposal, spec))
        self.backdate_mail(mail, self.at(date(2021, 3, 31), 17))
        close_call_if_due(call, now=call.closes_at)

        # The withdrawal came before the eligibility checks; then each side decided.
        mail = self.mail_mark()
        decided = self.at(date(2021, 4, 9), 10)
        for proposal, spec in proposals:
            if spec.fate == "withdrawn":
                withdraw_proposal(self.pis[spec.cn], proposal, spec.reason)
            else:
                self.decide_from_fate(proposal, spec, decided)
                decided += timedelta(hours=7)
        self.backdate_mail(mail, self.at(date(2021, 4, 16), 11))

        # Reviews (April–May 2021), two per side, built as the operations would leave them.
        load: dict[int, int] = {}
        reviewed = [(p, s) for p, s in proposals if p.state == ProposalState.eligible]
        move_call(self.staff_cn, call, CallState.in_review)
        for i, (proposal, spec) in enumerate(reviewed):
            change_state(proposal, ProposalState.in_review, table=PROPOSAL_TRANSITIONS,
                         what="The proposal")
            for side in ("CN", "BE"):
                invited = self.at(date(2021, 4, 19), 9) + timedelta(hours=i)
                chosen = self.pick_reviewers(proposal, side, load, 2)
                if i in (1, 6) and side == "BE":  # someone declined first
                    others = self.pick_reviewers(proposal, side, {}, 3,
                                                 exclude={u.id for u in chosen})
                    declined = others[0]
                    db.session.add(Assignment(
                        proposal=proposal, reviewer=declined, agency_id=be.id,
                        state=AssignmentState.declined, method=AssignmentMethod.automatic,
                        due_at=call.review_due_at, invited_at=invited - timedelta(days=5),
                        answered_at=invited - timedelta(days=4),
                        assigned_by_id=self.staff_be.id))
                for reviewer in chosen:
                    done = self.at(date(2021, 5, 3), 9) + timedelta(
                        days=self.clock.randint(0, 26), hours=self.clock.randint(0, 10))
                    self.past_review(call, proposal, spec, reviewer, side, invited, done)
            change_state(proposal, ProposalState.reviewed, table=PROPOSAL_TRANSITIONS,
                         what="The proposal")
        db.session.flush()

        for agency in (cn, be):
            for entry in compute_side_ranking(call.id, agency.id):
                entry.computed_at = self.at(date(2021, 6, 2), 10)

        # The secretariat tables the joint ranking: outcomes, then the project list.
        for proposal, spec in reviewed:
            set_outcome(self.secretariat, proposal, ProposalState(
                "recommended" if spec.fate == "funded" else spec.fate))
        plist = draft_project_list(self.secretariat, call)
        plist.notes = ("Six projects to fund and two in reserve, from the joint ranking of both "
                       "sides (June 2021).")
        propose_project_list(self.secretariat, plist)
        plist.created_at = self.at(date(2021, 6, 15), 10)
        self.plist21 = plist

    def fifth_meeting(self) -> None:
        cn, be = self.cn, self.be
        sec = self.secretariat
        meeting = create_meeting(sec, self.committee, number=5, date_=date(2021, 7, 14),
                                 mode=MeetingMode.video, host_agency_id=be.id,
                                 status=MeetingStatus.held)
        meeting.created_at = self.at(date(2021, 6, 21), 10)
        add_attendee(sec, meeting, agency_id=cn.id, name="Zhao Jing", name_original="赵静",
                     title="Deputy Director-General, Department of International Cooperation",
                     organisation="Ministry of Science and Technology (MOST)", is_cochair=True,
                     user_id=self.zhao.id)
        add_attendee(sec, meeting, agency_id=be.id, name="Christian Carette",
                     title="Deputy Director-General",
                     organisation="Wallonia-Brussels International (WBI)",
                     is_cochair=True, user_id=self.carette.id)
        add_attendee(sec, meeting, agency_id=cn.id, name="Guo Xiaolin", title="S&T Counsellor",
                     organisation="Embassy of the People's Republic of China in Belgium")
        add_attendee(sec, meeting, agency_id=be.id, name="Justine Colognesi",
                     title="Chief Representative of WBI in China",
                     organisation="Wallonia-Brussels International (WBI)")
        add_attendee(sec, meeting, agency_id=cn.id, name="Representative of NSFC",
                     title="Programme Director, Bureau of International Cooperation",
                     organisation="National Natural Science Foundation of China (NSFC)")
        add_attendee(sec, meeting, agency_id=cn.id, name="Representative of NSFC",
                     title="Programme Manager, Department of Life Sciences",
                     organisation="National Natural Science Foundation of China (NSFC)")
        items = {1: meeting.agenda_items[0]}
        for number, (title, notes) in enumerate([
            ("Review of the cooperation since the 4th meeting",
             ("Both sides reviewed the projects of the previous period. The pandemic postponed "
              "most research stays; the teams kept working together through online seminars, "
              "and both sides agreed to extend the projects concerned by one year at no extra "
              "cost.")),
            ("Inter-governmental projects 2021",
             ("The secretariat presented the call CN-BE-2021: 14 joint proposals received, 11 "
              "reviewed by experts of both sides, and the joint ranking.")),
            ("Future calls: personnel exchange 2022 and joint call 2023", ""),
            ("Next meeting", ""),
        ], start=2):
            item = add_agenda_item(sec, meeting, title)
            item.notes = notes
            items[number] = item
        meeting.minutes = (
            "The 5th meeting of the Joint Committee was held by video conference on 14 July 2021, "
            "co-chaired by Ms Zhao Jing, Deputy Director-General of the Department of "
            "International "
            "Cooperation of MOST, and Mr Christian Carette, Deputy Director-General of WBI. "
            "The Committee reviewed the cooperation since its 4th meeting, adopted the list of "
            "inter-governmental projects 2021, agreed to launch a personnel exchange call in 2022 "
            "and a joint call in 2023, and agreed to hold its 6th meeting in China in 2023.")

        mail = self.mail_mark()
        decisions = [
            draft_decision(sec, items[1], kind=DecisionKind.other, title="Adopt the agenda",
                           text="The Joint Committee adopted the agenda of its 5th meeting."),
            draft_decision(sec, items[3], kind=DecisionKind.adopt_project_list,
                           title="Adopt the list of inter-governmental projects 2021",
                           text=("The Joint Committee adopts the list of six joint projects "
                                 "selected under the call CN-BE-2021, with the funding of each "
                                 "side for the two project years, and keeps two projects in "
                                 "reserve.")),
            draft_decision(sec, items[4], kind=DecisionKind.adopt_call,
                           title=("Launch a personnel exchange call in 2022 and a joint call "
                                  "in 2023"),
                           text=("The Joint Committee agrees to launch a call for personnel "
                                 "exchange (mobility) projects in 2022 and a joint call for "
                                 "research projects in 2023, with the same priority areas and "
                                 "review criteria as the call 2021.")),
            draft_decision(sec, items[5], kind=DecisionKind.schedule_meeting,
                           title="Hold the 6th meeting in China in 2023",
                           text=("The 6th meeting of the Joint Committee will be held in person "
                                 "in China in 2023, at a date to be agreed through diplomatic "
                                 "channels.")),
        ]
        attach_project_list(sec, decisions[1], self.plist21)
        # attach_project_list sets the foreign key only; reload the relationship it cached.
        db.session.flush()
        db.session.expire(decisions[1], ["project_list"])
        adopted_at = self.at(date(2021, 7, 14), 10, 30)
        for decision in decisions:
            record_adoption_at_meeting(sec, decision)
            decision.created_at = self.at(date(2021, 7, 7), 10)
            decision.adopted_at = adopted_at
            for approval in decision.approvals:
                approval.approved_at = adopted_at
        self.decision_calls = decisions[2]
        release_letters(sec, decisions[1])
        self.backdate_mail(mail, self.at(date(2021, 7, 20), 10))

        projects = sa.select(Project).filter_by(decision_id=decisions[1].id)
        for project in db.session.scalars(projects):
            project.created_at = adopted_at
            project.start_date = date(2021, 9, 1)
            project.end_date = date(2023, 8, 31)
            # Adoption created the reports due (interim and final); the demo dates them.
            reports = {r.kind: r for r in project.reports}
            for kind in (ReportKind.interim, ReportKind.final):
                if kind not in reports:
                    reports[kind] = ProjectReport(project=project, kind=kind, state=ReportState.due)
                    db.session.add(reports[kind])
            interim = reports[ReportKind.interim]
            interim.state, interim.due_on = ReportState.submitted, date(2022, 9, 30)
            interim.submitted_at = self.at(date(2022, 9, 26), 16)
            interim.submitted_by_id = project.proposal.sides[0].pi_user_id
            interim.text = ("Year 1: the teams held a kick-off meeting online, exchanged data and "
                            "protocols, and completed the first research stays; a joint paper is in "
                            "preparation.")
            reports[ReportKind.final].due_on = date(2023, 11, 30)

    # the 2022 personnel exchange call, in selection ----------------------------------

    def call_2022(self) -> None:
        cn, be = self.cn, self.be
        terms = CallTerms(
            reference="CN-BE-2022",
            title="Personnel exchange call 2022 (mobility of researchers)",
            description=(
                "Mobility projects: research stays and joint workshops of teams already working "
                "together in China and in Wallonia-Brussels. Each side pays the travel of its own "
                "researchers and the stays of the other side's researchers."),
            opens_at=self.days_from_now(-160, 9), closes_at=self.days_from_now(-100, 17),
            review_due_at=self.days_from_now(21, 23, 59),
            priority_areas=["Life sciences & health", "Advanced materials", "Environment & climate",
                            "ICT & artificial intelligence", "Agriculture & food"],
            criteria=self.CRITERIA,
            sides=[self.side_terms("CN", 600000, 100000, 500, 12000),
                   self.side_terms("BE", 40000, 8000, 100, 1000)],
            instrument=Instrument.mobility, duration_months=24, overall_threshold=Decimal(3),
        )
        call = draft_call(self.staff_cn, self.committee, cn.id, terms)
        approve_call(self.staff_be, call)
        call.launched_by_decision_id = self.decision_calls.id
        call.created_at = self.days_from_now(-200, 10)
        call.side(cn).approved_at = call.created_at
        call.side(be).approved_at = self.days_from_now(-190, 15)
        open_call_if_due(call, now=call.opens_at)

        proposals: list[tuple[Proposal, Spec]] = []
        mail = self.mail_mark()
        submitted_at = self.days_from_now(-135, 10)  # 11 proposals, at most 1.4 days apart
        for spec in CALL_2022:
            submitted_at += timedelta(days=self.clock.randint(0, 1), hours=self.clock.randint(1, 9))
            started = submitted_at - timedelta(days=self.clock.randint(10, 30))
            proposal = self.build_draft(call, spec, started)
            self.topic_of[proposal.id] = spec.topic
            self.confirm_and_submit(proposal, spec, submitted_at)
            proposals.append((proposal, spec))
        self.backdate_mail(mail, call.closes_at)
        close_call_if_due(call, now=call.closes_at)

        mail = self.mail_mark()
        decided = self.days_from_now(-95, 10)
        for proposal, spec in proposals:
            self.decide_from_fate(proposal, spec, decided)
            decided += timedelta(hours=5)
        self.backdate_mail(mail, self.days_from_now(-90, 11))

        # The review round is still running: the real operations, due in three weeks.
        by_acronym = {spec.acronym: proposal for proposal, spec in proposals}
        specs = {spec.acronym: spec for spec in CALL_2022}
        invited = self.days_from_now(-80, 9)

        def done() -> datetime:
            return self.days_from_now(-self.clock.randint(8, 60), self.clock.randint(8, 20))

        mail = self.mail_mark()
        # Pending reviews, including the demo reviewers' invitations.
        plans = {
            "REECYCLE": [("CN", "Gao Lei", "submitted"), ("BE", "Anne-Sophie Hubert", "submitted")],
            "HARDCARB": [("CN", "Xu Tao", "submitted"), ("BE", "Marc Dewael", "submitted"),
                         ("BE", "Jean-François Renson", "conflict")],
            "LC3CEM": [("CN", "Lin Hui", "submitted"), ("CN", "Zhou Min", "declined"),
                       ("BE", "Thierry Baudoux", "submitted")],
        }
        load: dict[int, int] = {}
        for acronym, plan in plans.items():
            for side, name, end in plan:
                reviewer = next(u for u in self.reviewers[side] if u.name == name)
                load[reviewer.id] = load.get(reviewer.id, 0) + 1
                self.review_now(
                    call, by_acronym[acronym], specs[acronym], reviewer, side, invited_at=invited,
                    end=end, submitted_at=done(),
                    conflict="I co-supervise a PhD student with the Belgian PI.")
        for proposal, spec in proposals:
            if spec.fate in ("in_review", "ineligible"):
                continue
            for side in ("CN", "BE"):
                demo_reviewers = {self.reviewer_cn.id, self.reviewer_be.id}
                chosen = self.pick_reviewers(proposal, side, load, 2, exclude=demo_reviewers)
                for reviewer in chosen:
                    self.review_now(call, proposal, spec, reviewer, side, invited_at=invited,
                                    submitted_at=done())
        self.backdate_mail(mail, invited)
        recent = self.days_from_now(-3, 9)
        demo_plans = [
            ("REECYCLE", "CN", self.reviewer_cn, "invited"),
            ("LC3CEM", "CN", self.reviewer_cn, "invited"),
            ("HARDCARB", "CN", self.reviewer_cn, "accepted"),
            ("REECYCLE", "BE", self.reviewer_be, "invited"),
            ("HARDCARB", "BE", self.reviewer_be, "invited"),
            ("LC3CEM", "BE", self.reviewer_be, "draft"),
        ]
        for acronym, side, reviewer, end in demo_plans:
            invited_at = recent - timedelta(days=4 if end != "invited" else 0)
            mail = self.mail_mark()
            self.review_now(call, by_acronym[acronym], specs[acronym], reviewer, side,
                            invited_at=invited_at, end=end)
            self.backdate_mail(mail, invited_at)
        db.session.flush()

        for agency in (cn, be):
            compute_side_ranking(call.id, agency.id)
        for proposal, spec in proposals:
            if spec.fate in ("recommended", "not_recommended"):
                set_outcome(self.secretariat, proposal, ProposalState(spec.fate))
        plist = draft_project_list(self.secretariat, call)
        plist.notes = "First draft from the joint ranking; three proposals still await reviews."

    def sixth_meeting(self) -> None:
        sec = self.secretariat
        meeting = create_meeting(sec, self.committee, number=6, date_=None, date_note="2023",
                                 mode=MeetingMode.in_person, host_agency_id=self.cn.id,
                                 status=MeetingStatus.tentative)
        add_attendee(sec, meeting, agency_id=self.cn.id, name="Zhao Jing", name_original="赵静",
                     title="Deputy Director-General, Department of International Cooperation",
                     organisation="Ministry of Science and Technology (MOST)", is_cochair=True,
                     user_id=self.zhao.id)
        add_attendee(sec, meeting, agency_id=self.be.id, name="Christian Carette",
                     title="Deputy Director-General",
                     organisation="Wallonia-Brussels International (WBI)",
                     is_cochair=True, user_id=self.carette.id)
        # Item 2, the report on the projects adopted at the 5th meeting, is the standing
        # item create_meeting adds.
        items = {}
        for title in ["Personnel exchange projects 2022", "Joint call 2023",
                      "Date and venue of the 7th meeting"]:
            item = add_agenda_item(sec, meeting, title)
            items[item.number] = item
        draft_decision(sec, items[3], kind=DecisionKind.adopt_project_list,
                       title="Adopt the list of personnel exchange projects 2022",
                       text="The Joint Committee adopts the list of personnel exchange projects "
                            "selected under the call CN-BE-2022.")

    # the 2023 call, open now ---------------------------------------------------------

    def join(self, proposal: Proposal, inviter: User, partner: User, when: datetime) -> None:
        """The partner PI follows the invitation link (its token is known here)."""
        token = secrets.token_urlsafe(32)
        db.session.add(PartnerInvitation(
            proposal_id=proposal.id, agency_id=partner.agency_id, email=partner.email,
            token_hash=hashlib.sha256(token.encode()).hexdigest(), invited_by_id=inviter.id,
            created_at=when, expires_at=self.now + timedelta(days=14)))
        db.session.flush()
        join_proposal(partner, token)

    def call_2023(self) -> None:
        cn, be = self.cn, self.be
        terms = CallTerms(
            reference="CN-BE-2023",
            title="Joint call for inter-governmental S&T cooperation projects 2023",
            description=(
                "Joint research projects between teams in China and in Wallonia-Brussels, launched "
                "by decision 5.3 of the Joint Committee. MOST funds the Chinese teams and WBI the "
                "teams of Wallonia-Brussels. Projects last two years; the list of projects will be "
                "adopted by the Joint Committee."),
            opens_at=self.days_from_now(-45, 9), closes_at=self.days_from_now(30, 17),
            review_due_at=self.days_from_now(90, 23, 59),
            priority_areas=["Life sciences & health", "Advanced materials & energy",
                            "Environment & climate", "ICT & artificial intelligence",
                            "Agriculture & food"],
            criteria=self.CRITERIA,
            sides=[self.side_terms("CN", 3000000, 500000, 600, 15000),
                   self.side_terms("BE", 150000, 25000, 120, 1200)],
            duration_months=24, overall_threshold=Decimal(3),
        )
        call = draft_call(self.staff_be, self.committee, be.id, terms)
        call.launched_by_decision_id = self.decision_calls.id
        approve_call(self.staff_cn, call)  # both sides approved and the window is open: it opens
        call.created_at = self.days_from_now(-75, 10)
        call.side(be).approved_at = call.created_at
        call.side(cn).approved_at = self.days_from_now(-60, 9)
        areas = self.areas(call)

        def content(spec: Spec, abstract: str | None = None,
                    with_area: bool = True) -> ProposalContent:
            return ProposalContent(
                title=spec.title, acronym=spec.acronym,
                abstract=spec.abstract if abstract is None else abstract, keywords=spec.keywords,
                priority_area_id=areas[spec.topic] if with_area else None,
                duration_months=call.duration_months,
                requested_amounts={cn.id: Decimal(spec.amounts[0]),
                                   be.id: Decimal(spec.amounts[1])},
                pi_has_phd={cn.id: True, be.id: True},
                institution_countries={cn.id: cn.country, be.id: be.country},
            )

        submit_day = -30
        for spec in CALL_2023:
            cn_pi = self.pis.get(spec.cn) if spec.cn else None
            be_pi = self.pis.get(spec.be) if spec.be else None
            starter, partner = (cn_pi, be_pi) if spec.starter == "CN" else (be_pi, cn_pi)
            started = self.days_from_now(-40 + CALL_2023.index(spec), 10)
            with_area = spec.fate != "draft:no-partner"
            proposal = start_proposal(starter, call, content(spec, with_area=with_area))
            proposal.created_at = started
            self.add_team(proposal, spec)
            if spec.fate == "draft:partner-invited":
                mail = self.mail_mark()
                invite_partner(starter, proposal, self.pis["sophie.lambert"].email)
                self.backdate_mail(mail, self.days_from_now(-2, 15))
                continue
            if partner is None:
                continue
            self.join(proposal, starter, partner, started + timedelta(days=2))
            if spec.fate == "draft:both-pis":
                # Both PIs uploaded their documents; Chen Yu confirmed version 1;
                # Sophie Lambert then improved the abstract.
                self.add_documents(proposal, started + timedelta(days=3))
                confirm_proposal(starter, proposal, 1)
                improved = content(spec, HEATWISE_ABSTRACT + HEATWISE_ADDITION)
                save_proposal(partner, proposal, 1, improved)
                continue
            if spec.fate.startswith("draft"):
                continue
            submit_day += 3
            when = self.days_from_now(submit_day, 11)
            mail = self.mail_mark()
            self.confirm_and_submit(proposal, spec, when)
            self.backdate_mail(mail, when)
            if spec.fate == "withdrawn":
                withdraw_proposal(cn_pi, proposal, spec.reason)
            elif spec.fate == "submitted:cn-checked":
                self.decide(proposal, "CN", True)
            elif spec.fate in ("eligible", "ineligible"):
                self.decide_from_fate(proposal, spec, self.days_from_now(-1, 10))

    def call_2024(self) -> None:
        """Drafted by MOST; it waits for WBI's approval."""
        terms = CallTerms(
            reference="CN-BE-2024",
            title="Joint call 2024: green transition and digital technologies",
            description=("Joint research projects on the green transition and on digital "
                         "technologies, proposed by MOST for the approval of WBI."),
            opens_at=self.days_from_now(90, 9), closes_at=self.days_from_now(180, 17),
            review_due_at=self.days_from_now(240, 23, 59),
            priority_areas=["Renewable energy & storage", "Circular economy", "Climate adaptation",
                            "ICT & artificial intelligence"],
            criteria=self.CRITERIA,
            sides=[self.side_terms("CN", 3000000, 500000, 600, 15000),
                   self.side_terms("BE", 150000, 25000, 120, 1200)],
            duration_months=24, overall_threshold=Decimal(3),
        )
        draft_call(self.staff_cn, self.committee, self.cn.id, terms)

